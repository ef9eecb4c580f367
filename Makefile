# Everything a fresh machine needs, from a plain `python3`: each target builds the venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install lint test demo bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# Installs, starts the sandbox, runs `meltano run tap-csv target-autopilot`, shows the result.
demo: install
	$(BIN)/python demo/run_demo.py

# Benchmarks (issue 5): sandboxes on loopback, the real CLI, target-csv as the baseline; writes BENCHMARKS.md.
bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .meltano .mypy_cache .ruff_cache .pytest_cache
