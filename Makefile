# The two commands of the README: `make demo` runs the main job, `make test` runs the tests.
# Each installs what it needs (uv, then the locked environment) on a fresh machine.

SHELL := /bin/bash
# uv when it is on PATH, else the one pip installs into this Python (bootstrapped by `setup`).
UV := $(or $(shell command -v uv 2>/dev/null),python3 -m uv)
export TF_USE_LEGACY_KERAS := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: setup demo test test-fast ui checks lint benchmarks

setup:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen

demo: setup
	$(UV) run --frozen twotower run

test: setup
	$(UV) run --frozen pytest -m "not benchmark" --durations=20

test-fast: setup
	$(UV) run --frozen pytest -m "not slow and not e2e and not benchmark"

ui: setup
	DAGSTER_HOME=$${DAGSTER_HOME:-$${TWOTOWER_HOME:-$(CURDIR)/.twotower}/dagster} $(UV) run --frozen dagster dev

checks: setup
	DAGSTER_HOME=$${DAGSTER_HOME:-$${TWOTOWER_HOME:-$(CURDIR)/.twotower}/dagster} $(UV) run --frozen twotower checks

lint: setup
	$(UV) run --frozen ruff check . && $(UV) run --frozen ruff format --check .
