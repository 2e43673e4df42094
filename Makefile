# Two commands on a fresh clone (see README):
#   make run    install into .venv, then `snakemake --cores all` on the embedded default
#   make test   install what tests need (if not yet there), then run the test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.hmr-installed

.PHONY: install run test lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: install
	$(BIN)/snakemake --cores all

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/snakemake --lint

clean:
	rm -rf results data logs .snakemake
