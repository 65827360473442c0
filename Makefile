# The two commands of the README: `make run` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install models browser services run test lint bench clean

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

# A throwaway PostgreSQL 127.0.0.1:55432 for tests/storage, and redis-server for the
# multi-process tests (each installed when missing).
# Only those tests read COPILOT_TEST_POSTGRES_URL; everything else stays on SQLite.
TEST_POSTGRES_URL := postgresql+pg8000://copilot_test:copilot_test@127.0.0.1:55432/copilot_test
services:
	bash scripts/test_services.sh

run: models
	$(BIN)/copilot serve

lint: install
	$(BIN)/ruff check .

test: models browser services lint
	COPILOT_TEST_POSTGRES_URL=$(TEST_POSTGRES_URL) $(BIN)/python -m pytest

bench: models
	$(BIN)/python bench/retrieval_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
