# tau2observe: the commands a newcomer needs.
#   make install    create .venv and install everything (sidecar, evaluator, Datadog tooling, Ray, dev tools)
#   make test       lint, type-check and run the whole test suite (what CI runs)
#   make demo       the offline end-to-end demo
#   make bench      the benchmarks: the sidecar's cost, evaluation throughput (native, local, Ray)
#   make collector  build (once, then cached) the OpenTelemetry Collector from source

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint typecheck pytest demo bench collector chromium compose clean

install: $(STAMP)

# Reinstall only when the dependency list changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	@touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The collector tests need the built collector (under make a missing one fails them);
# the report's browser test needs headless Chromium and the compose check a Docker Compose
# (both installed from Debian's packages when missing).
pytest: $(STAMP) collector chromium compose
	TAU2OBSERVE_REQUIRE_COLLECTOR=1 $(BIN)/pytest

test: lint typecheck pytest

# A no-op once built: the binary is cached by manifest and Go version (see the script).
collector:
	scripts/build-collector.sh

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache

# The offline demo: sample agents, the sidecar, tau2 evaluations, traces and the report.
demo: install
	$(BIN)/tau2observe demo

# Headless Chromium for the report's browser test: installed when missing (root, apt-get).
chromium:
	scripts/ensure-chromium.sh

compose:
	scripts/ensure-compose.sh

