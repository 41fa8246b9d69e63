# Two entry points for a fresh machine (see README): `make start` and `make test`.
# Both create their own virtualenv in .venv and install everything they need into it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: start test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

start: $(BIN)/.installed
	$(BIN)/flowtime serve --demo

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/lint-imports

test: lint
	bash scripts/ensure-browser.sh
	$(BIN)/python -m pytest

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/engine_scale.py
	$(BIN)/python benchmarks/api_state.py
	$(BIN)/python benchmarks/telemetry_import.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
