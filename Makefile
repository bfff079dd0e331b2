# coreport: `make run` installs everything and serves on the embedded default;
# `make test` installs everything and runs the whole test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NPM_CI := npm ci --no-audit --no-fund --loglevel=error

.PHONY: run test install frontend node-deps chromium nginx lint unit bench bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && $(NPM_CI)

src/coreport/web/static/index.html: frontend/node_modules/.package-lock.json $(shell find frontend/src frontend/index.html frontend/vite.config.* -type f 2>/dev/null)
	cd frontend && npm run build

frontend: src/coreport/web/static/index.html

tests/interop/node_modules/.package-lock.json: tests/interop/package-lock.json
	cd tests/interop && $(NPM_CI)

tests/e2e/node_modules/.package-lock.json: tests/e2e/package-lock.json
	cd tests/e2e && $(NPM_CI)

tests/bench/node_modules/.package-lock.json: tests/bench/package-lock.json
	cd tests/bench && $(NPM_CI)

node-deps: tests/interop/node_modules/.package-lock.json tests/e2e/node_modules/.package-lock.json tests/bench/node_modules/.package-lock.json

# Debian's Chromium for the browser tests (nothing is downloaded by the test tools).
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# Debian's nginx, for the test of deploy/nginx.conf in front of two instances.
nginx:
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { apt-get update -qq && apt-get install -y -qq nginx >/dev/null; }

run: install frontend
	$(BIN)/coreport serve

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit -q

test: install frontend node-deps chromium nginx lint
	cd frontend && npm test
	$(BIN)/pytest -q -p no:cacheprovider
	bash tests/e2e/run.sh

bench: install node-deps
	$(BIN)/python -m tests.bench.run

bench-quick: install node-deps
	$(BIN)/python -m tests.bench.run --quick

clean:
	rm -rf $(VENV) frontend/node_modules tests/*/node_modules src/coreport/web/static
