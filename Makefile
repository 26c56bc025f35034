# The README's commands. Each target installs what is missing, then runs.
SHELL := /bin/bash
# The first interpreter that really runs and is >= 3.11 (pyenv shims may exist but fail).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
  $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck pytest bench tools clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "need Python >= 3.11 (python3, python3.11, ...)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Tools outside PyPI that the checks use: promtool (Debian's prometheus package),
# systemd-analyze (Debian's systemd) and
# QuestDB's own SQL parser (npm). Installed only when missing.
tools: $(STAMP) node_modules/.stamp
	@missing=""; command -v promtool >/dev/null || missing="$$missing prometheus"; \
	 command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	 if [ -n "$$missing" ]; then \
	   echo "installing Debian packages:$$missing (promtool, systemd-analyze)"; \
	   (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	   || echo "warning: could not install$$missing; those checks will be skipped with a reason"; \
	 fi

node_modules/.stamp: package.json
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --silent; \
	 else npm install --no-audit --no-fund --silent; fi
	@touch $@

demo: $(STAMP)
	$(BIN)/ghtraderd backfill -c config/demo.toml
	$(BIN)/ghtraderd report -c config/demo.toml
	$(BIN)/ghtraderd coverage -c config/demo.toml

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: tools
	$(BIN)/pytest

test: tools
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(STAMP)
	for b in ingest validation sink reload coverage plan memory tqsdk read; do $(BIN)/python bench/$$b.py || exit 1; done

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
