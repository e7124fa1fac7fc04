# Two set-up commands for a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export DO_NOT_TRACK := true
export MLFLOW_DISABLE_TELEMETRY := true
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DVC_NO_ANALYTICS := 1
export GX_ANALYTICS_ENABLED := false

.PHONY: demo test lint install dev infra-check gpu-suite-prep

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0          # CPU wheel first, so nothing pulls a CUDA build
	$(PIP) install -q -e '.[dev,distributed]'
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

test: lint
	$(VENV)/bin/pytest -q

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
