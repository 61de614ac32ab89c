# Two commands do all the set-up: `make run` (install, start the app) and `make test`.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
PORT ?= 8501

.PHONY: install install-dev run test lint bench browser-deps

install:
	$(PIP) install -q -r requirements.txt

install-dev:
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
