# Copydesk: `make demo` runs the pipeline over a fictional newsroom, `make test` runs the tests.
# Everything runs inside .venv, created on first use; it is reinstalled only when pyproject.toml or constraints.txt change.

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=
PACKAGES := common ingest dedup flows report
SOURCES  := $(PACKAGES) benches tests

.PHONY: demo test check fmt build eval eval-extract bench screenshots clean

demo: $(VENV)/.installed
	$(BIN)/copydesk demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Measurements on ../shared/data (skipped where it is absent); each writes its section of docs/benchmarks.md.
DATA ?= ../shared/data

eval: $(VENV)/.installed-test
	$(BIN)/python -m benches.dedup_quality $(DATA)/syndication-dev --dev2 $(DATA)/syndication-dev2 --out docs/benchmarks.md

eval-extract: $(VENV)/.installed-test
	$(BIN)/python -m benches.extraction $(DATA)/extraction/scrapinghub-aeb $(DATA)/extraction/readability-pages --hostile

bench: $(VENV)/.installed-test
	$(BIN)/python -m benches.speed --data $(DATA) --sizes 70000,700000 --out docs/benchmarks.md
	$(BIN)/python -m benches.ingest_speed
	$(BIN)/python -m benches.end_to_end --sizes 70000,700000 --out docs/benchmarks.md
	$(BIN)/python -m benches.malloc_trim
	$(BIN)/python -m benches.report --out docs/benchmarks.md

# The report's screenshots in docs/, taken by its Chromium test (which installs chromium with apt-get if missing).
screenshots: $(VENV)/.installed-test
	COPYDESK_SCREENSHOTS=docs $(BIN)/python -m pytest tests/flows/test_report.py -k chromium

check: $(VENV)/.installed-test
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/mypy $(PACKAGES) benches
	$(BIN)/lint-imports

fmt: $(VENV)/.installed-test
	$(BIN)/ruff format $(SOURCES)
	$(BIN)/ruff check --fix $(SOURCES)

# Build the wheel, check it holds the packages and their data but no benchmark or test code, install
# it alone in a throwaway venv and run the command line on a small file.
SMOKE := dist/smoke
build: $(VENV)/.installed-test
	rm -rf dist
	$(BIN)/python -m build --wheel --outdir dist .
	$(BIN)/python -c "$$CHECK_WHEEL" dist/*.whl
	$(PYTHON) -m venv $(SMOKE)/venv
	$(SMOKE)/venv/bin/python -m pip install --quiet --upgrade pip
	$(SMOKE)/venv/bin/python -m pip install --quiet -c constraints.txt dist/*.whl
	cd $(SMOKE) && venv/bin/copydesk --help > /dev/null
	printf '%s\n' \
	  '{"id": "a", "text": "The harbour tram line gets four new stations after the council vote on Tuesday evening."}' \
	  '{"id": "b", "text": "The harbour tram line gets four new stations after the council vote on Tuesday evening!"}' \
	  '{"id": "c", "text": "A late frost damaged most of the apricot blossom in the valley orchards this week."}' \
	  > $(SMOKE)/docs.jsonl
	cd $(SMOKE) && venv/bin/copydesk dedup docs.jsonl --out out
	test -n "$$(find $(SMOKE)/out/clusters -name '*.parquet')"
	@echo "build: wheel installs and runs; $$(ls dist/*.whl)"

define CHECK_WHEEL
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
assert tops == {"common", "ingest", "dedup", "flows", "report"}, tops
for need in ("common/py.typed", "dedup/py.typed", "ingest/py.typed", "flows/py.typed", "report/py.typed",
             "flows/demo/manifest.json", "report/assets/clusters.js", "report/assets/report.css"):
    assert need in names, need
print(f"{sys.argv[1]}: {len(names)} files, packages {sorted(tops)}, no benches/ or tests/")
endef
export CHECK_WHEEL

# The machine's pip (23.2) cannot resolve lxml's html_clean extra that trafilatura needs: upgrade it first.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -c constraints.txt -e '.[test]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) dist build .mypy_cache .ruff_cache .pytest_cache
