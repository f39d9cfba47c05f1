# Two commands on a fresh machine:  `make demo` (the main job)  and  `make test`.
# Set-up steps run only when their inputs change: each leaves a stamp in .venv/ that
# is newer than pyproject.toml (and the cached llama.cpp wheel), so a second run goes
# straight to the work. Delete .venv/ (or touch pyproject.toml) to set up again.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
WHEELS := $(or $(PEPPERPY_WHEEL_CACHE),$(HOME)/.cache/pepperpy/wheels)
export PEPPERPY_WHEEL_CACHE := $(WHEELS)
CORE_STAMP := $(VENV)/.pepperpy-core-installed
TEST_STAMP := $(VENV)/.pepperpy-test-installed
LLAMA_WHEEL := $(wildcard $(WHEELS)/llama_cpp_python-*.whl)

.PHONY: demo test setup setup-test lint bench bench-smoke mutation llama-wheel postgres espeak netns dist

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The checkout's three distributions, editable: the runtime (.), the test kit and the
# authors' tools (packages/). The demo installs each plugin's dependencies itself, with uv.
DISTS := -e . -e packages/pepperplug-testing -e packages/pepperplug-dev
PROJECTS := pyproject.toml $(wildcard packages/*/pyproject.toml)

# A checkout set up before the runtime was named pepperplug still holds a `pepperpy`
# distribution (and its pepperpy.egg-info) whose stale command entry points shadow the
# real ones: drop both first.
# The uninstall also takes the `pepperpy` command, which the runtime then reinstalls.
$(CORE_STAMP): $(PROJECTS) | $(PY)
	@rm -rf pepperpy.egg-info
	@if $(PY) -m pip show --quiet pepperpy >/dev/null 2>&1; then \
	  $(PY) -m pip uninstall --quiet --yes pepperpy && \
	  $(PY) -m pip install --quiet --force-reinstall --no-deps -e .; fi
	$(PY) -m pip install --quiet $(DISTS)
	@touch $@

# Cheap when the wheel is cached (one `ls`); the one-time build says how long it takes.
llama-wheel: | $(PY)
	@bash tools/llama_wheel.sh $(PY)

postgres:
	@bash tools/ensure_postgres.sh

espeak:
	@bash tools/ensure_espeak.sh

netns:
	@bash tools/ensure_netns.sh

setup: $(CORE_STAMP) llama-wheel

$(TEST_STAMP): $(PROJECTS) $(LLAMA_WHEEL) | $(CORE_STAMP) llama-wheel
	$(PY) -m pip install --quiet --prefer-binary --find-links $(WHEELS) -e '.[test]' \
	  -e packages/pepperplug-testing -e packages/pepperplug-dev
	@touch $@

setup-test: setup postgres espeak netns $(TEST_STAMP)

# The demo (tools/demo.py: part of the checkout, in no distribution) keeps its trust
# store, keys and data in the checkout (.pepperpy-demo/), so
# trusting its development key never touches your own ~/.pepperpy.
DEMO_HOME ?= $(CURDIR)/.pepperpy-demo

demo: setup
	@PEPPERPY_HOME=$(DEMO_HOME) PEPPERPY_FIND_LINKS=$(WHEELS) $(PY) tools/demo.py

test: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q

lint: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# The release rehearsal: wheels and sdists of pepperplug, pepperplug-dev and
# pepperplug-testing, the signed first-party plugins and a static plugin index site, all
# under dist/ (docs/operator-guide.md, "Publishing a release"). Throwaway keys unless
# KEY=publisher.key (and INDEX_KEY=index.key) are given.
dist: setup-test
	$(PY) tools/release.py --out dist $(if $(KEY),--key $(KEY)) $(if $(INDEX_KEY),--index-key $(INDEX_KEY))

# Every bench script to the end, each ratio printed; exits 1 at the end if any failed.
bench: setup-test
	@failed=""; for b in bench/bench_*.py; do echo "== $$b"; \
	  $(PY) $$b || failed="$$failed $$b"; done; \
	if [ -n "$$failed" ]; then echo "failed:$$failed"; exit 1; fi

# The same scripts in smoke mode (same code, a few rounds): what the test suite runs.
bench-smoke: setup-test
	$(PY) -m pytest -q tests/bench

# Remove each security check in turn; its tests must fail (docs/security.md, "Mutation run").
mutation: setup-test
	$(PY) tools/mutation_run.py $(ROWS)
