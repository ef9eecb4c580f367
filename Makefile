# Everything a fresh machine needs, from a plain `python3`: each target builds the venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install lint browser test demo bench mutants clean

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
	$(BIN)/lint-imports

# The sandbox page's test runs a real headless Chromium: as root with apt-get (CI), install the
# Debian package when it is missing; anywhere else that test is skipped with the reason.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing chromium (Debian package) for the sandbox page's browser test"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		echo "Could not install chromium: the browser test will be skipped"; \
	else echo "No chromium and no root apt-get: the browser test will be skipped"; fi

# The suite on WORKERS processes (pytest-xdist), tests sharing a fixture on one. Four on two cores: many
# tests wait on subprocesses, Meltano and deliberate timeouts, and their waits overlap (measured: 5m40s
# against 6m30s with one worker per core).
WORKERS ?= 4
test: lint browser
	$(BIN)/pytest -n $(WORKERS) --dist loadgroup --durations=15

# Mutation testing (issue 23), not part of `make test`: mutmut on the modules that decide what is written
# or removed (pyproject.toml [tool.mutmut]), the target run inside the test process; then the kill rate
# per module and each survivor docs/mutants.md does not explain (exit 1 if any). Results stay in
# mutants/: a second run re-runs only what changed.
mutants: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/mutmut run --max-children $(WORKERS)
	$(BIN)/python tools/mutants.py

# Installs, starts the sandbox, runs `meltano run tap-csv target-autopilot`, shows the result.
# `make demo API=ortto`: today's Autopilot (the Ortto API), segments as tags.
API ?= classic
demo: install
	$(BIN)/python demo/run_demo.py --api $(API)

# Benchmarks (issue 5): sandboxes on loopback, the real CLI, target-csv as the baseline; writes BENCHMARKS.md.
bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .meltano .mypy_cache .ruff_cache .pytest_cache mutants
