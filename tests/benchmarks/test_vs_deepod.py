"""The DeepOD comparison's bookkeeping: step parity, settings, the RESULTS.md section.

DeepOD itself is not a wsad dependency, so these tests exercise what runs without it; the
comparison run (benchmarks/vs_deepod.py) checks DeepOD's side."""

from __future__ import annotations

import math
import sys

import pandas as pd
import pytest

from benchmarks import report, vs_deepod
from components.detectors import make


def test_deepod_steps_follow_its_loaders_and_off_by_one_cap():
    assert vs_deepod.deepod_steps("devnet", 1400, 64, -1) == math.ceil(1400 / 64)
    assert vs_deepod.deepod_steps("prenet", 1400, 64, -1) == 1400 // 64
    assert vs_deepod.deepod_steps("devnet", 20_000, 512, 19) == 20
    assert vs_deepod.deepod_steps("deepsad", 3500, 512, 19) == 7  # one pass is the ceiling
    assert vs_deepod.deepod_steps("prenet", 300, 512, 19) == 1  # batch shrinks to n


@pytest.mark.parametrize("method", vs_deepod.METHODS)
def test_deepod_config_gives_both_sides_the_same_steps(method):
    ours, theirs, our_steps, their_steps = vs_deepod.pair_settings("deepod", method, 1400, 3)
    assert our_steps == their_steps
    assert theirs["random_state"] == ours["random_state"] == 3
    params = make(method, **ours).get_params()
    assert (params["epochs"], params["batch_size"], params["lr"]) == (100, 64, 1e-3)
    assert params["optimizer"] == "adam"
    assert params["clip_norm"] is None


def test_paper_config_keeps_our_defaults_and_counts_deepsad_pretraining():
    ours, theirs, our_steps, their_steps = vs_deepod.pair_settings("paper", "deepsad", 1280, 0)
    defaults = make("deepsad").get_params()
    assert {k: v for k, v in make("deepsad", **ours).get_params().items() if k in defaults} == {
        **defaults,
        "device": "cpu",
        "verbose": False,
    }
    assert our_steps == (defaults["epochs"] + defaults["pretrain_epochs"]) * 10
    assert their_steps == theirs["epochs"] * 10 == 500


def test_import_deepod_names_the_pip_command_when_missing(monkeypatch):
    for name in [m for m in sys.modules if m == "deepod" or m.startswith("deepod.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "deepod", None)
    with pytest.raises(vs_deepod.DeepODMissing, match="pip install --no-deps deepod==0.4.1"):
        vs_deepod.import_deepod()


def test_replace_section_rewrites_only_its_own_section(tmp_path):
    md = tmp_path / "RESULTS.md"
    md.write_text("# Results\n\n## Other bench\n\nkeep me\n\n## Mine\n\nold\n\n## Last\n\ntail\n")
    report.replace_section(md, "## Mine", "## Mine\n\nnew\n")
    text = md.read_text()
    assert "old" not in text
    assert text.index("keep me") < text.index("new") < text.index("tail")
    report.replace_section(md, "## Added", "## Added\n\nbody\n")
    assert md.read_text().rstrip().endswith("## Added\n\nbody")


def test_markdown_section_reports_means_and_time_ratios():
    rows = [
        ("cardio", "devnet", 0, 0.5, 0.4, 2.0, 6.0),
        ("cardio", "devnet", 1, 0.7, 0.6, 2.0, 2.0),
        ("pima", "devnet", 0, 0.3, 0.3, 1.0, 3.0),
    ]
    cols = ["dataset", "method", "seed", "auc_pr_ours", "auc_pr_deepod"]
    results = pd.DataFrame(rows, columns=[*cols, "fit_s_ours", "fit_s_deepod"])
    results["steps_ours"], results["steps_deepod"] = 100, 50
    text = vs_deepod.markdown_section("deepod", results, "python -m x", "loss check", ["cut"])
    assert text.startswith(vs_deepod.HEADINGS["deepod"])
    assert "| cardio | devnet | 0.600 | 0.500 | 2.00 | 4.00 | 2.00 | 100 / 50 | 4.00 |" in text
    assert "| **mean of 2** | devnet | 0.450 | 0.400 | 1.50 | 3.50 | 2.50 |" in text
    assert "**Note:** cut" in text
    assert "`python -m x`" in text
