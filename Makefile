# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp

.PHONY: run test lint bench browser-deps clean lock

# Installs exactly the versions of requirements-dev.lock (refresh it with `make lock`).
$(STAMP): pyproject.toml requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $(STAMP)

## Start the hub: SQLite at ./passerelle.db, flows from ./flows, sandbox when no credentials.
run: $(STAMP)
	$(BIN)/passerelle serve

## Everything the suite needs, lint (ruff, mypy strict), then the whole suite (unit,
## integration, acceptance, reliability, browser, and the flows' own test cases).
test: $(STAMP) browser-deps lint
	$(BIN)/pytest

## Headless Chromium for the dashboard's browser tests (Debian's package; no browser download).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "WARNING: chromium could not be installed; browser tests will be skipped"; \
	  else echo "WARNING: chromium is missing and cannot be installed here; browser tests will be skipped"; fi; }

lint: $(STAMP)
	$(BIN)/ruff check app connectors tests bench
	$(BIN)/mypy

## Re-resolve the lock files from pyproject.toml (after changing a dependency or to take fixes).
lock:
	$(PYTHON) .ci/lock.py

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache passerelle.egg-info
