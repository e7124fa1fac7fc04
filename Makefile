# Set-up commands for a fresh machine: `make demo`, `make test` (the fast suite) and
# `make test-all` (every test; CI runs it: .ci/run). tests/README.md says which is which.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export DO_NOT_TRACK := true
export MLFLOW_DISABLE_TELEMETRY := true
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DVC_NO_ANALYTICS := 1
export GX_ANALYTICS_ENABLED := false

.PHONY: demo test test-all lint install dev infra-check gpu-suite-prep

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0          # CPU wheel first, so nothing pulls a CUDA build
	$(PIP) install -q -e '.[dev,distributed]'
	$(PIP) install -q --no-deps deepod==0.4.1  # benchmarks' comparison (its --smoke runs it); pins torch<1.13.1, hence --no-deps
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/wsad demo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-logo
	$(VENV)/bin/bandit -q -r components flows -c pyproject.toml
	$(PY) -m benchmarks.readme_figures

# Two pytest-xdist workers; PYTEST_ARGS adds options (CI: --durations=30).
PYTEST := $(VENV)/bin/pytest -q -n 2 --dist worksteal
FAST := not slow and not integration

test: lint
	$(PYTEST) -m "$(FAST)" $(PYTEST_ARGS)

test-all: lint
	$(PYTEST) $(PYTEST_ARGS)

# Validate infra/compose.yaml against the Compose schema with the placeholder env file
# (Debian's `docker-compose` 1.29, or the `docker compose` plugin where there is one).
COMPOSE := $(shell command -v docker-compose 2>/dev/null || echo docker compose)
infra-check:
	cd infra && $(COMPOSE) -f compose.yaml --env-file .env.example config -q

# What benchmarks/gpu_suite.sh needs on the GPU box, in git-ignored folders that the device
# call carries (`carry: ["benchmarks/tables", "benchmarks/wheels"]`): the shared tables (../shared
# does not travel) and DeepOD 0.4.1's wheel (the box has no network).
gpu-suite-prep: install
	mkdir -p benchmarks/tables benchmarks/wheels
	cp -f ../shared/datasets/*.parquet benchmarks/tables/
	$(PIP) download -q --no-deps deepod==0.4.1 -d benchmarks/wheels
