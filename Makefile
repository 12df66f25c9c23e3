# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv/ when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit soak bench package clean services

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m emulators.demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy shared bot functions emulators tools tests

unit: $(STAMP)
	$(BIN)/pytest -q -m "not soak"

test: $(STAMP) lint typecheck
	$(BIN)/pytest -q -m "not soak"

soak: $(STAMP)
	$(BIN)/pytest -q -m soak

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.run_all

package: $(STAMP)
	$(BIN)/python -m tools.build_package --out .package $(if $(EXTRAS),--extras $(EXTRAS))

clean:
	rm -rf $(VENV) .package build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
