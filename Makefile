# Two commands on a fresh machine:  `make demo` (the main job)  and  `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
WHEELS := $(or $(PEPPERPY_WHEEL_CACHE),$(HOME)/.cache/pepperpy/wheels)
export PEPPERPY_WHEEL_CACHE := $(WHEELS)

.PHONY: demo test setup setup-test lint bench mutation

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Core only: the demo installs each plugin's dependencies itself, with uv.
setup: $(PY)
	$(PY) -m pip install --quiet -e .
	bash tools/llama_wheel.sh $(PY)

setup-test: setup
	bash tools/ensure_postgres.sh
	$(PY) -m pip install --quiet --prefer-binary --find-links $(WHEELS) -e '.[test]'

# The demo keeps its trust store, keys and data in the checkout (.pepperpy-demo/), so
# trusting its development key never touches your own ~/.pepperpy.
DEMO_HOME ?= $(CURDIR)/.pepperpy-demo

demo: setup
	PEPPERPY_HOME=$(DEMO_HOME) PEPPERPY_FIND_LINKS=$(WHEELS) $(VENV)/bin/pepperpy demo

test: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q

lint: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: setup-test
	for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# Remove each security check in turn; its tests must fail (docs/security.md, "Mutation run").
mutation: setup-test
	$(PY) tools/mutation_run.py $(ROWS)
