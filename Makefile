# The two set-up commands are `make demo` and `make test`; both build .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install demo test ui clean help

help:
	@echo "make demo   - generate 60 days of demo events, run every layer, write the exports"
	@echo "make test   - run the test suite"
	@echo "make ui     - open the Dagster UI on the same instance (http://127.0.0.1:3000)"
	@echo "make clean  - remove data/ (warehouse, landing, exports, Dagster instance)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/engagement-pipeline demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

ui: $(STAMP)
	$(BIN)/engagement-pipeline ui

clean:
	rm -rf data
