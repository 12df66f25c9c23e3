# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv/ when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit soak bench package clean services serverless-devs

# Serverless Devs' CLI, for the test that renders template.yml with `s preview` (tests/contract/test_serverless_devs.py).
# Installed from npm into a project-local folder; without npm the install is skipped and so is that test.
S_VERSION := 3.1.10
S_PREFIX := .tools
S_BIN := $(S_PREFIX)/node_modules/.bin/s

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

# pytest-xdist workers for `make test`/`make unit` (each gets its own test databases: tests/conftest.py);
# TEST_WORKERS=0 runs the suite serially in one process. Four, on two cores too: much of the suite waits (on
# emulated latency, on the processes it starts, on the databases), and a waiting worker leaves its core to another.
TEST_WORKERS ?= 4
PYTEST_PARALLEL = -n $(TEST_WORKERS) --dist load

unit: $(STAMP)
	$(BIN)/pytest -q -m "not soak" $(PYTEST_PARALLEL)

# Prints pytest's summary line, then what lint and typecheck printed, then the time of the whole target.
# Lint and typecheck run beside pytest, their output held until it ends: much of the suite waits, and mypy
# without a cache (a fresh clone) takes a while on its own. Bytecode is written as Python does by default,
# even where the environment turns it off: the tests start about a hundred fresh `ecs-tasks` and poller
# processes, each of which would compile the project again. It is written once before pytest starts, not by
# each of its workers at once.
test: $(STAMP) serverless-devs
	@start=$$(date +%s); checks_out=$$(mktemp); \
	$(MAKE) --no-print-directory lint typecheck >"$$checks_out" 2>&1 & checks_pid=$$!; \
	$(BIN)/python -m compileall -q -j 0 shared bot functions emulators tools tests >/dev/null; \
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -q -m "not soak" $(PYTEST_PARALLEL); \
	status=$$?; \
	wait $$checks_pid; checks=$$?; cat "$$checks_out"; rm -f "$$checks_out"; \
	if [ $$checks -ne 0 ]; then status=$$checks; fi; \
	echo "make test: $$(( $$(date +%s) - start )) s in all (lint, typecheck, pytest), exit $$status"; \
	exit $$status

$(S_BIN):
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix $(S_PREFIX) --no-audit --no-fund --loglevel=error @serverless-devs/s@$(S_VERSION); \
	else \
		echo "npm not found: @serverless-devs/s is not installed and its template test will be skipped"; \
	fi

serverless-devs: $(S_BIN)

soak: $(STAMP)
	$(BIN)/pytest -q -m soak

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.run_all

package: $(STAMP)
	$(BIN)/python -m tools.build_package --out .package $(if $(EXTRAS),--extras $(EXTRAS))

clean:
	rm -rf $(VENV) $(S_PREFIX) .package build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
