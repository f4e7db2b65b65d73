# The two commands a new user runs: `make run` and `make test`.
# Everything they need is installed into .venv by the rules below.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: run test lint format clean translations extract-messages bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

## make run: migrate, load demo data into an empty database, serve on http://$(HOST):$(PORT)
run: $(VENV)/.installed translations
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi demo seed --if-empty
	$(BIN)/flask --app wsgi resources import --if-empty
	@echo
	@echo "  Serving on http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	@echo
	$(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

## make test: lint, then the whole suite (SQLite unless GRANTS_TEST_DATABASE_URL is set)
test: $(VENV)/.installed-test translations
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-test
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	@touch $@

## make bench: every benchmark against its baseline (docs/benchmarks.md); BENCH_QUICK=1 for a
## smaller run. Needs PostgreSQL on 127.0.0.1 (BENCH_PG_URL); installs pgbench and wrk.
bench: $(VENV)/.installed-bench translations
	@command -v pgbench >/dev/null && command -v wrk >/dev/null && test -x /usr/bin/time || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    postgresql-client postgresql-contrib wrk time >/dev/null; }
	$(BIN)/python -m bench.run

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## make translations: compile every language's catalogue (translations/*/LC_MESSAGES/*.mo)
translations: $(VENV)/.installed
	$(BIN)/pybabel -q compile -d translations

## make extract-messages: gather the English from code and templates into every catalogue;
## new messages arrive untranslated (see docs/translations.md)
extract-messages: $(VENV)/.installed
	$(BIN)/pybabel -q extract -F babel.cfg --no-location --sort-output \
	  -k _l -k lazy_gettext -k lazy_ngettext:1,2 -o translations/messages.pot .
	$(BIN)/pybabel -q update -i translations/messages.pot -d translations \
	  --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache test-artifacts
