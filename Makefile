# The two commands of the README: `make run` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install models browser run test lint bench clean

# torch==2.13.0 first: it is the CPU build these machines carry; any other spec pulls CUDA.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

models: install
	$(BIN)/copilot models prepare

# Browser tests drive Debian's chromium (Playwright's own browser download is not reachable).
browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk; }

run: models
	$(BIN)/copilot serve

lint: install
	$(BIN)/ruff check .

test: models browser lint
	$(BIN)/python -m pytest

bench: models
	$(BIN)/python bench/retrieval_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
