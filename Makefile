# Two commands do all the set-up: `make run` (install, start the app) and `make test` (ruff, the
# docs site built with `mkdocs build --strict`, pytest); `make docs` builds the docs alone.
# Everything goes into a project virtualenv (.venv), so both work where the system Python
# refuses global installs (PEP 668); the package is installed editable, so
# `.venv/bin/python -m unlearn_core` works from any folder.
SYSTEM_PYTHON ?= python3
VENV ?= .venv
PYTHON ?= $(VENV)/bin/python
PIP ?= $(PYTHON) -m pip
PORT ?= 8501
# pytest runs in TEST_WORKERS pytest-xdist workers (one per core of a 2-core machine). With
# --dist loadgroup each test file is one unit of work (its module fixtures built once), and the
# files that share an expensive session object run on one worker; tests/conftest.py groups them
# and hands out the long units first (hence --no-loadscope-reorder).
TEST_WORKERS ?= 2
# The docs site is built into a temporary folder (never into the tracked tree) and removed; with
# --strict a broken link or anchor, or a page missing from mkdocs.yml's nav, fails the build.
DOCS_BUILD = site=$$(mktemp -d) && trap 'rm -rf "$$site"' EXIT && \
	$(PYTHON) -m mkdocs build --strict --site-dir "$$site"

.PHONY: venv install install-dev run test lint docs bench browser-deps

$(VENV)/bin/python:
	$(SYSTEM_PYTHON) -m venv $(VENV)

venv: $(VENV)/bin/python

install: venv
	$(PIP) install -q -r requirements.txt "setuptools>=64"
	$(PIP) install -q --no-deps --no-build-isolation -e .

install-dev: install
	$(PIP) install -q -r requirements-dev.txt

browser-deps:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

run: install
	$(PYTHON) -m streamlit run app.py --server.port $(PORT) --server.headless true

test: install-dev browser-deps
	$(PYTHON) -m ruff check .
	$(DOCS_BUILD)
	$(PYTHON) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

lint:
	$(PYTHON) -m ruff check .

docs: install-dev
	$(DOCS_BUILD)

bench: install
	$(PYTHON) bench/bench_methods.py
