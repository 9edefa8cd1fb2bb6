# Copydesk: `make demo` runs the pipeline over a fictional newsroom, `make test` runs the tests.
# Everything runs inside .venv, created on first use; it is reinstalled only when pyproject.toml changes.

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=
PACKAGES := common ingest dedup flows
SOURCES  := $(PACKAGES) benches tests

.PHONY: demo test check eval eval-extract bench clean

demo: $(VENV)/.installed
	$(BIN)/copydesk demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Measurements on ../shared/data (skipped where it is absent); each writes its section of docs/benchmarks.md.
DATA ?= ../shared/data

eval: $(VENV)/.installed-test
	$(BIN)/python -m benches.dedup_quality $(DATA)/syndication-dev --out docs/benchmarks.md

eval-extract: $(VENV)/.installed-test
	$(BIN)/python -m benches.extraction $(DATA)/extraction/scrapinghub-aeb

bench: $(VENV)/.installed-test
	$(BIN)/python -m benches.speed --data $(DATA) --sizes 70000,700000 --out docs/benchmarks.md
	$(BIN)/python -m benches.ingest_speed

check: $(VENV)/.installed-test
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/mypy $(PACKAGES) benches
	$(BIN)/lint-imports

# The machine's pip (23.2) cannot resolve lxml's html_clean extra that trafilatura needs: upgrade it first.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
