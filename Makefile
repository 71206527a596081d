# onetoone: `make demo` and `make test` work on a fresh machine with only Python 3.11.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ONETOONE := $(VENV)/bin/onetoone
STAMP := $(VENV)/.installed
SAMPLE := data/sample/client.yaml
SAMPLE_WS := data/sample/client.duckdb
REPORTS ?= reports

.DEFAULT_GOAL := help
.PHONY: help setup chromium postgres nginx java workspace demo test test-fast lab survey bench sample lint clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip --version >/dev/null 2>&1 || $(PY) -m ensurepip --upgrade >/dev/null
	$(PY) -m pip install --quiet --disable-pip-version-check uv
	$(PY) -m uv pip install --quiet --python $(PY) -e '.[test,spark]'
	$(PY) -m ipykernel install --sys-prefix --name onetoone --display-name "onetoone (Python 3.11)" >/dev/null
	@touch $(STAMP)

setup: $(STAMP) ## create .venv, install pinned dependencies, register the onetoone kernel

chromium: ## install Debian chromium (browser tests, PDF board pack) and poppler-utils (PDF checks) when missing
	@command -v chromium >/dev/null || test -x /usr/bin/chromium || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	@command -v pdftoppm >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null)

postgres: ## install PostgreSQL (the survey store's tests start it on loopback) when missing
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) || \
	  echo "PostgreSQL could not be installed; its tests will be skipped"

java: ## install Debian's Java 17 (engine: spark, and the Spark parity tests) when missing
	@command -v java >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null) || \
	  echo "Java could not be installed; the Spark parity tests will be skipped"

nginx: ## install Debian nginx (the survey's HTTPS test serves through it) when missing
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null) || \
	  echo "nginx could not be installed; the survey's HTTPS test will be skipped"

$(SAMPLE_WS): $(STAMP) $(SAMPLE) $(wildcard data/sample/*.csv*) $(wildcard data/sample/*.parquet) $(wildcard lib/onetoone/*/*.py)
	$(ONETOONE) ingest $(SAMPLE)
	$(ONETOONE) run all $(SAMPLE)
	@touch $(SAMPLE_WS)

workspace: $(SAMPLE_WS) ## ingest the sample client and run every stage's pipeline

demo: setup ## set up, then run the whole workbook on the sample client and print where the reports are
	$(ONETOONE) demo --out $(REPORTS)

test: setup chromium postgres nginx java ## set up, then the whole suite (unit, notebooks once per client in one batch, browser)
	$(PY) -m pytest tests --nbval-lax notebooks/readiness_survey.ipynb -p no:cacheprovider

test-fast: setup ## the unit tests only (no notebooks, no browser)
	$(PY) -m pytest tests -m "not browser and not slow" -p no:cacheprovider

lab: setup ## JupyterLab on the notebooks (CONFIG=path/to/client.yaml to preselect a client)
	$(ONETOONE) lab $(CONFIG)

survey: setup ## serve the readiness survey for the sample client with Voila
	$(ONETOONE) survey serve $(or $(CONFIG),$(SAMPLE))

bench: setup ## run every benchmark script and print its figures
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

sample: setup ## regenerate the sample client (deterministic)
	$(ONETOONE) sample

lint: setup ## ruff on the library, tests and notebooks
	$(PY) -m ruff check lib tests benchmarks

clean: ## remove the venv, workspaces and reports
	rm -rf $(VENV) $(REPORTS) data/sample/*.duckdb data/sample/*.sqlite
