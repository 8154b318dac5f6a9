# The two set-up commands are `make demo` and `make test`; both build .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# The suite runs on every core (pytest-xdist), one test file per worker at a time: a file's module
# fixtures (a generated demo run through the CLI, a Spark cluster) are built once, and the files
# holding slow tests are handed out first (tests/conftest.py orders them). `make test PARALLEL=` runs serially.
PARALLEL ?= -n auto --dist loadfile --no-loadscope-reorder

.PHONY: install demo test test-fast lint ui clean help

help:
	@echo "make demo   - generate 60 days of demo events, run every layer, write the exports"
	@echo "make test   - run the test suite"
	@echo "make test-fast - the suite without the tests marked slow (end to end on generated data)"
	@echo "make lint   - ruff check, ruff format --check, mypy, dg check defs"
	@echo "make ui     - open the Dagster UI on the same instance (http://127.0.0.1:3000)"
	@echo "make clean  - remove data/ (warehouse, landing, exports, Dagster instance)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@echo "installing the pinned packages into $(VENV) (log: $(VENV)/install.log)"
	@$(BIN)/python -m pip install --disable-pip-version-check -e ".[test]" > $(VENV)/install.log 2>&1 \
		|| { tail -n 40 $(VENV)/install.log; echo "pip install failed: see $(VENV)/install.log"; exit 1; }
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/engagement-pipeline demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PARALLEL) $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PARALLEL) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cd $(CURDIR) && VIRTUAL_ENV=$(abspath $(VENV)) $(BIN)/dg check defs

ui: $(STAMP)
	$(BIN)/engagement-pipeline ui

clean:
	rm -rf data

# Benchmark (bench/README.md): per-stage time, lines/s and peak RSS against the DuckDB floor.
# make bench SIZES=1m,10m,30m [PROFILE=1] [INCR=off|smoke|default] [BENCH_ARGS="--keep-work ..."]
# make bench ENGINE=spark SIZES=smoke: staging on Spark (local[2], a standalone cluster of 1 and 2 workers)
# beside the DuckDB engine and the floor (bench/spark_bench.py; needs Java 17).
SIZES ?= 1m,10m,30m
INCR ?= default
ENGINE ?= duckdb
BENCH_ARGS ?=
.PHONY: bench bench-smoke
bench: $(STAMP)
ifeq ($(ENGINE),spark)
	$(BIN)/python -m bench.spark_bench --sizes "$(SIZES)" $(BENCH_ARGS)
else
	$(BIN)/python -m bench --sizes "$(SIZES)" --incr $(INCR) $(if $(filter-out 0,$(PROFILE)),--profile) $(BENCH_ARGS)
endif

bench-smoke: $(STAMP)
	$(BIN)/python -m bench --sizes smoke --incr smoke --rss-method hwm --out bench/results/smoke.json $(BENCH_ARGS)
