# The two commands of the README's quick start: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AZURITE := .tools/node_modules/.bin/azurite-blob

.PHONY: demo test lint venv azurite rest-tools chromium clean stack stack-down

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

azurite: $(AZURITE)

$(AZURITE):
	mkdir -p .tools
	npm install --prefix .tools --no-audit --no-fund --loglevel=error azurite@3

## curl and jq for the REST walkthrough test (tests/unit/emulator/test_rest_walkthrough.py skips, saying so, without them).
rest-tools:
	@command -v curl >/dev/null && command -v jq >/dev/null || \
	  { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq curl jq >/dev/null; } || \
	  echo "curl or jq missing and not installable here: the REST walkthrough test will be skipped"

## Headless Chromium for the browser tests (Debian's package; they skip with a reason without it).
chromium:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) || echo "chromium not installed: the browser tests will skip"

## Sets up everything, generates sample inputs and runs the self-hosted example DAG on embedded SQLite.
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

lint: $(STAMP)
	$(BIN)/ruff check airflow_provider_mlendpoints tests dags bench scripts
	$(BIN)/mypy

## Sets up everything (virtualenv, Azurite) and runs the whole test suite.
test: $(STAMP) $(AZURITE) rest-tools chromium lint
	PATH="$(CURDIR)/$(BIN):$(CURDIR)/.tools/node_modules/.bin:$$PATH" $(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

## Starts a real Airflow on 127.0.0.1 without Docker (PostgreSQL, Azurite, emulator; scripts/stack --help).
stack: $(STAMP) $(AZURITE)
	scripts/stack up $(STACK_ARGS)

stack-down:
	scripts/stack down

clean:
	rm -rf $(VENV) .tools .demo
