# Two commands do all the set-up: `make run` (install, start the app) and `make test`.
# Everything goes into a project virtualenv (.venv), so both work where the system Python
# refuses global installs (PEP 668); the package is installed editable, so
# `.venv/bin/python -m unlearn_core` works from any folder.
SYSTEM_PYTHON ?= python3
VENV ?= .venv
PYTHON ?= $(VENV)/bin/python
PIP ?= $(PYTHON) -m pip
PORT ?= 8501

.PHONY: venv install install-dev run test lint bench browser-deps

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
	$(PYTHON) -m pytest -q

lint:
	$(PYTHON) -m ruff check .

bench: install
	$(PYTHON) bench/bench_methods.py
