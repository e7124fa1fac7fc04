#!/usr/bin/env bash
# Issue 20's accelerator run in one command: every GPU figure of wsad, as CSV + PNG (and each
# benchmark's RESULTS.md section) in the folder $OUT.
#
#   OUT=/some/folder benchmarks/gpu_suite.sh --device cuda --pack    # on the H200 box
#   OUT=/tmp/suite benchmarks/gpu_suite.sh --device cpu --tiny --skip-deepod   # CPU check
#
# Needs, beside the working tree: benchmarks/tables/ (the shared parquet tables) and
# benchmarks/wheels/ (DeepOD 0.4.1's wheel), both git-ignored; `make gpu-suite-prep` fills
# them, and the device call carries them. The box has Python 3.12, torch with CUDA, numpy,
# pandas, pyarrow, scikit-learn, typer, rich and matplotlib, and no network: DeepOD is
# installed from the wheel with --no-deps into a temporary folder, nothing else is installed.
#
# Expected about 6.5 minutes on the H200, at most 9.5 (the step limits); benchmarks/RESULTS.md
# ("GPU suite") says how that estimate was made. Each step runs under its own time limit, so
# one overrun cannot eat the others; a failed step is logged, the suite goes on and exits
# non-zero at the end. Steps:
#   1. fit_scaling: ours vs DeepOD at DeepOD's settings, devnet/prenet/deepsad, 10k/100k/1M rows
#      resampled from cover, one epoch, AUC-PR beside (DeepOD's PReNet skipped at 100k and 1M:
#      its fit scores every row against 60 partners, longer than the whole suite); the plot
#      draws the committed CPU run's curves beside the GPU's.
#   2. ensemble_speedup: 8 seeds in one stacked pass vs 8 sequential fits, cardio.
#   3. grid_walltime: a slice of the full grid (cardio, every method the box can run, i.e. all
#      but catboost and xgbod, 4 label ratios, seed 0); its section scales the wall time up.
#   4. step_modes: eager / torch.compile / CUDA graphs / bf16 autocast for devnet and deepsad.
# --tiny runs the same steps on a tiny slice (a few hundred rows, one or two epochs) for the CPU
# test; --skip-deepod leaves DeepOD out (fit_scaling then times ours alone); --pack ends by
# packing every file into $OUT/gpu_suite.tar.gz (the device tool returns at most 8 files).
set -uo pipefail
cd "$(dirname "$0")/.."

DEVICE=cuda TINY=0 SKIP_DEEPOD=0 PACK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=${2:?--device needs cpu or cuda}; shift 2 ;;
    --tiny) TINY=1; shift ;;
    --skip-deepod) SKIP_DEEPOD=1; shift ;;
    --pack) PACK=1; shift ;;
    *) echo "error: unknown option $1 (options: --device cpu|cuda, --tiny, --skip-deepod, --pack)" >&2
       exit 2 ;;
  esac
done
if [ -z "${OUT:-}" ]; then echo "error: set OUT to the folder for the results" >&2; exit 2; fi
PYTHON=${PYTHON:-python3}
TABLES=${TABLES:-benchmarks/tables}
if ! ls "$TABLES"/*.parquet > /dev/null 2>&1; then
  echo "error: $TABLES/ holds no tables; run 'make gpu-suite-prep' and carry $TABLES" >&2
  exit 2
fi
mkdir -p "$OUT"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} PYTHONUNBUFFERED=1

NO_DEEPOD=()
if [ "$SKIP_DEEPOD" = 1 ]; then
  NO_DEEPOD=(--no-deepod)
elif ! "$PYTHON" -c "import deepod" 2>/dev/null; then
  wheel=$(ls benchmarks/wheels/deepod-0.4.1-*.whl 2>/dev/null | head -n 1)
  if [ -z "$wheel" ]; then
    echo "error: no DeepOD wheel in benchmarks/wheels/; run 'make gpu-suite-prep' and carry it" >&2
    exit 2
  fi
  site=$(mktemp -d)
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --target "$site" "$wheel" || exit 2
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi

"$PYTHON" - "$DEVICE" <<'EOF' || exit 2
import platform, sys, torch
device = sys.argv[1]
if device == "cuda" and not torch.cuda.is_available():
    sys.exit("error: --device cuda but torch sees no CUDA device")
name = torch.cuda.get_device_name() if device == "cuda" else platform.processor()
print(f"python {platform.python_version()}, torch {torch.__version__}, device {device} ({name})")
EOF

common=(--data-dir "$TABLES" --out-dir "$OUT" --results-md "$OUT/RESULTS.md")
if [ "$TINY" = 1 ]; then
  fit_scaling=(--dataset pima --rows 300,600 --epochs 1
               --compare-csv benchmarks/results/fit_scaling_cpu.csv)
  ensemble=(--dataset pima --members 2 --repeats 1 --epochs 1 --methods devnet --max-rows 500)
  grid=(--datasets pima --methods devnet,iforest --label-ratios 0.1 --seeds 0 --max-rows 500)
  modes=(--dataset pima --methods devnet --modes eager,bf16 --seeds 0,1 --epochs 1 --max-rows 500)
  limits=(120 120 120 120)
else
  fit_scaling=(--dataset cover --rows 10000,100000,1000000 --epochs 1
               --deepod-skip prenet:100000,prenet:1000000
               --compare-csv benchmarks/results/fit_scaling_cpu.csv)
  ensemble=(--dataset cardio --members 8 --repeats 2)
  grid=(--datasets cardio --label-ratios 0.01,0.05,0.1,0.25 --seeds 0 --max-rows 10000
        --methods anoonly,deepsad,devnet,devnet-topk,esad,feawad,iforest,mnpwad,prenet,rosas,supervised)
  modes=(--dataset cardio --methods devnet,deepsad --modes eager,compiled,cudagraphs,bf16
         --seeds 0,1,2)
  limits=(160 100 130 170)
fi

echo "step,exit_code,seconds,limit_s" > "$OUT/suite_steps.csv"
failed=0
run_step() {  # name, time limit, module arguments...
  local name=$1 limit=$2 start=$SECONDS rc
  shift 2
  echo "== $name (limit ${limit}s)"
  timeout "$limit" "$PYTHON" -m "benchmarks.$name" "$@"
  rc=$?
  echo "$name,$rc,$((SECONDS - start)),$limit" >> "$OUT/suite_steps.csv"
  if [ "$rc" != 0 ]; then echo "== $name failed (exit $rc)"; failed=1; fi
}
run_step fit_scaling "${limits[0]}" "${common[@]}" --device "$DEVICE" "${fit_scaling[@]}" "${NO_DEEPOD[@]}"
run_step ensemble_speedup "${limits[1]}" "${common[@]}" --device "$DEVICE" "${ensemble[@]}"
run_step grid_walltime "${limits[2]}" "${common[@]}" --device "$DEVICE" "${grid[@]}"
run_step step_modes "${limits[3]}" "${common[@]}" --device "$DEVICE" "${modes[@]}"
cat "$OUT/suite_steps.csv"

if [ "$PACK" = 1 ]; then
  (cd "$OUT" && files=$(ls) && tar -czf gpu_suite.tar.gz $files && rm -f $files)
fi
exit "$failed"
