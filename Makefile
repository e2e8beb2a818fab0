# sdkforge: every target sets up what it needs first (a virtualenv in .venv from pinned files).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Prism (the mock server of the contract tests), pinned in package.json + package-lock.json.
NODE_STAMP := node_modules/.installed-stamp

.PHONY: setup generate check test test-quick golden bench clean

setup: $(STAMP) $(NODE_STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

## Regenerate generated/ from spec/ (settings in [tool.sdkforge] of pyproject.toml).
generate: $(STAMP)
	$(BIN)/sdkforge generate

## Exit 1 with a diff when generated/ is not what spec/ and the templates produce now (writes nothing).
check: $(STAMP)
	$(BIN)/sdkforge check

## The whole test suite, slow tests included (what CI runs).
test: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest

## Skip the slow tests (large corpus specs) for a quick local loop.
test-quick: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest -m "not slow"

## Rewrite the golden files from the current generator; read `git diff tests/golden` before committing.
golden: $(STAMP)
	SDKFORGE_UPDATE_GOLDEN=1 $(BIN)/python -m pytest tests/test_golden.py -q
	git --no-pager diff --stat -- tests/golden

## Benchmarks against the targets of issue 7, in their own virtualenv (.bench-venv, made from
## benchmarks/requirements.txt); never run by the tests. Figures: benchmarks/RESULTS.md.
## Options go through BENCH_ARGS, e.g. make bench BENCH_ARGS="--markdown /tmp/bench.md".
bench:
	$(PYTHON) benchmarks/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules build dist *.egg-info .pytest_cache .mypy_cache
