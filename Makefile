# Ideas: two commands for a newcomer.
#   make run    a running site with demo content on http://127.0.0.1:8000
#   make test   the whole suite on SQLite, then on PostgreSQL when 127.0.0.1:5432 answers
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WORKERS ?= 2
BIND ?= 127.0.0.1:8000
PYTEST_ARGS ?=
CHROMIUM := /usr/bin/chromium
# axe-core, from the npm registry, is injected into pages by the accessibility tests only.
BROWSER_TOOLS := tests/browser
AXE := $(BROWSER_TOOLS)/node_modules/axe-core/axe.min.js
PIP := $(BIN)/python -m pip --disable-pip-version-check
# Some machines set PYTHONDONTWRITEBYTECODE: then every pytest run and every server a test
# starts compiles the site again, and pytest rewrites every test module's asserts again.
unexport PYTHONDONTWRITEBYTECODE
# The suites' throw-away folders (a database copy and a search index per test) go to
# memory where the machine has a RAM disk.
TEST_TMP := $(shell [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo $${TMPDIR:-/tmp})

.PHONY: help install install-test run test test-sqlite test-pg imports chromium axe lint clean

help:
	@echo "make run          install into $(VENV), migrate, load the demo once, serve on $(BIND)"
	@echo "make test         the suite on SQLite, then on a throw-away PostgreSQL database"
	@echo "make test-sqlite  the suite on SQLite only"
	@echo "make test-pg      the suite on PostgreSQL only (127.0.0.1:5432)"
	@echo "make imports      check the import contracts between packages (pyproject.toml, docs/architecture.md)"
	@echo "make install      create $(VENV) and install the site"
	@echo "make lint         ruff over ideas/ and tests/"
	@echo "make clean        remove $(VENV) and the browser tests' node_modules (instance/ and its data stay)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# uv installs what pyproject.toml asks for (from PyPI, like pip) in a third of pip's time
# (measured 19 s against 31.5 s for the test extras, bytecode compiled, on a fresh venv);
# pip only installs uv itself into the venv.
UV := $(BIN)/uv
UV_INSTALL := $(UV) pip install -q --compile-bytecode --python $(BIN)/python

$(UV): $(BIN)/python
	$(PIP) install -q 'uv>=0.5'

# The stamps make a second `make run` start at once; editing pyproject.toml reinstalls.
$(VENV)/.installed: $(UV) pyproject.toml
	$(UV_INSTALL) -e .
	@touch $@

$(VENV)/.installed-test: $(UV) pyproject.toml
	$(UV_INSTALL) -e '.[test]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Development settings unless the caller chose others; the data lives in instance/ and
# survives every later `make run`: the demo is loaded only into an empty database.
run: install
	@export IDEAS_ENV="$${IDEAS_ENV:-development}"; \
	export IDEAS_INSTANCE_PATH="$${IDEAS_INSTANCE_PATH:-$(CURDIR)/instance}"; \
	export IDEAS_BASE_URL="$${IDEAS_BASE_URL:-http://$(BIND)}"; \
	echo "==> Database: $${IDEAS_DATABASE_URL:-sqlite under $$IDEAS_INSTANCE_PATH}"; \
	$(BIN)/flask --app wsgi db upgrade; \
	$(BIN)/flask --app wsgi ideas demo; \
	echo "==> Serving on http://$(BIND) with $(WORKERS) workers (Ctrl-C stops)"; \
	exec $(BIN)/gunicorn -w $(WORKERS) -b $(BIND) wsgi:app

# Both backends run at once (one per core), each with its own log, printed in turn;
# both run even when one fails, so one run tells everything. (The recipe runs under
# `set -e`, hence `|| rc=$$?`: a failing backend must still write its exit code.)
# The tests marked `once` cannot tell the backends apart (the browser tests: what
# chromium draws and does, and the pure rules): SQLite, in one process, runs a third of them and
# PostgreSQL, in two, the rest (IDEAS_TEST_SHARE, tests/conftest.py), so each runs once and
# both backends finish about together; without PostgreSQL, SQLite runs them all.
test: install-test imports chromium axe
	@logs=$$(mktemp -d); \
	trap 'rm -rf "$$logs"' EXIT; \
	if $(BIN)/python -m tests.pg available; then share_sqlite=1/3; share_pg=2,3/3; else share_sqlite=; share_pg=; fi; \
	echo "==> Test suite on SQLite and PostgreSQL side by side; each backend's output follows when both are done"; \
	( rc=0; IDEAS_TEST_SHARE=$$share_sqlite $(MAKE) --no-print-directory test-sqlite >"$$logs/sqlite.log" 2>&1 || rc=$$?; echo $$rc >"$$logs/sqlite.rc" ) & \
	( rc=0; IDEAS_TEST_SHARE=$$share_pg $(MAKE) --no-print-directory test-pg >"$$logs/pg.log" 2>&1 || rc=$$?; echo $$rc >"$$logs/pg.rc" ) & \
	wait; \
	cat "$$logs/sqlite.log" "$$logs/pg.log"; \
	status=0; \
	[ "$$(cat $$logs/sqlite.rc)" = 0 ] || { echo "==> FAILED on SQLite"; status=1; }; \
	[ "$$(cat $$logs/pg.rc)" = 0 ] || { echo "==> FAILED on PostgreSQL"; status=1; }; \
	exit $$status

test-sqlite: install-test axe
	@echo; echo "==> Test suite on SQLite$${IDEAS_TEST_SHARE:+ (share $$IDEAS_TEST_SHARE of the tests marked once)}"
	@tmp=$$(mktemp -d -p $(TEST_TMP)); trap 'rm -rf "$$tmp"' EXIT; \
	env -u IDEAS_TEST_DATABASE_URL PYTEST_DEBUG_TEMPROOT="$$tmp" $(BIN)/pytest $(PYTEST_ARGS)

# A fresh, randomly named database, dropped afterwards even when the suite fails. The run
# is split over PG_PROCESSES processes (pytest-xdist, a test file each at a time), each on
# a database of its own beside it (tests/conftest.py): one process alone spends half its
# time waiting for the server's answers and leaves a core idle.
PG_PROCESSES ?= 2
test-pg: install-test axe
	@if ! $(BIN)/python -m tests.pg available; then \
	  echo; echo "==> PostgreSQL at 127.0.0.1:5432 does not answer: the PostgreSQL run is skipped"; \
	  exit 0; \
	fi; \
	url=$$($(BIN)/python -m tests.pg create); tmp=$$(mktemp -d -p $(TEST_TMP)); \
	trap 'rm -rf "$$tmp"; $(BIN)/python -m tests.pg drop "$$url" && echo "==> Dropped $${url##*/}"' EXIT; \
	echo; echo "==> Test suite on PostgreSQL (database $${url##*/})$${IDEAS_TEST_SHARE:+, share $$IDEAS_TEST_SHARE of the tests marked once}"; \
	IDEAS_TEST_DATABASE_URL="$$url" PYTEST_DEBUG_TEMPROOT="$$tmp" $(BIN)/pytest -n $(PG_PROCESSES) --dist loadfile $(PYTEST_ARGS)

# The arrows between packages (docs/architecture.md): a few seconds, and it fails before
# the suites start when an import goes the wrong way.
imports: install-test
	@echo "==> Import contracts"
	@$(BIN)/lint-imports --no-cache

# The browser tests drive Debian's chromium; without it they skip and say why.
chromium:
	@if [ -x $(CHROMIUM) ]; then \
	  exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "==> Installing Debian's chromium for the browser tests"; \
	  log=$$(mktemp); \
	  if apt-get update -qq >"$$log" 2>&1 && \
	     DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 chromium >>"$$log" 2>&1; then \
	    echo "==> chromium installed"; \
	  else \
	    tail -n 20 "$$log"; \
	    echo "==> Could not install chromium: the browser tests will be skipped"; \
	  fi; \
	  rm -f "$$log"; \
	else \
	  echo "==> $(CHROMIUM) is missing and apt-get cannot run as this user: the browser tests will be skipped"; \
	fi

# The lock file pins axe-core's exact version; `npm ci` installs it into tests/browser/node_modules.
axe: $(AXE)

$(AXE): $(BROWSER_TOOLS)/package.json $(BROWSER_TOOLS)/package-lock.json
	@if ! command -v npm >/dev/null; then \
	  echo "==> npm is missing (apt-get install npm): the accessibility tests will be skipped"; \
	  exit 0; \
	fi; \
	echo "==> Installing axe-core for the accessibility tests"; \
	log=$$(mktemp); \
	if npm ci --prefix $(BROWSER_TOOLS) --no-audit --no-fund --loglevel=error >"$$log" 2>&1; then \
	  touch $@; \
	else \
	  tail -n 20 "$$log"; \
	  echo "==> npm could not install axe-core: the accessibility tests will be skipped"; \
	fi; \
	rm -f "$$log"

lint: install-test
	$(PIP) install -q ruff
	$(BIN)/ruff check ideas tests

clean:
	rm -rf $(VENV) $(BROWSER_TOOLS)/node_modules
