# Emergence: `make run` for a run, `make test` for the whole check. `make help` lists the rest.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
NODE_STAMP := observer/node_modules/.installed
EXAMPLE_STAMP := examples/node/node_modules/.installed
DASHBOARD := observer/dist/index.html
DASHBOARD_SOURCES := $(shell find observer/src -type f 2>/dev/null) observer/index.html observer/vite.config.ts observer/tsconfig.json

.DEFAULT_GOAL := help
.PHONY: help install system-packages dashboard proto lint type test test-fast run up bench services clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,full,client]'
	@touch $(STAMP)

$(NODE_STAMP): observer/package.json observer/package-lock.json
	cd observer && npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

$(EXAMPLE_STAMP): examples/node/package.json examples/node/package-lock.json
	cd examples/node && npm ci --no-audit --no-fund --loglevel=error
	@touch $(EXAMPLE_STAMP)

system-packages: ## Debian packages the checks need (docker-compose, protoc-gen-swagger, chromium)
	bash scripts/system_packages.sh

$(DASHBOARD): $(NODE_STAMP) $(DASHBOARD_SOURCES)
	cd observer && npm run --silent build -- --logLevel warn

dashboard: $(DASHBOARD) ## build the dashboard (observer/dist), served by the gateway

install: $(STAMP) $(NODE_STAMP) $(EXAMPLE_STAMP) system-packages $(DASHBOARD) ## create .venv, install Python, Node and Debian dependencies, build the dashboard

proto: install ## regenerate Python and TypeScript bindings and the descriptor set from proto/
	PATH=$(CURDIR)/$(BIN):$$PATH bash scripts/gen_proto.sh

lint: install ## ruff, buf lint, buf breaking against the previous main
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	bash scripts/buf_lint.sh
	bash scripts/buf_breaking.sh

type: install ## mypy (strict on the pure cores) and tsc on the generated TypeScript
	$(BIN)/mypy emergence engine ledger_service observer_service runner gateway bench
	cd observer && npx --no-install tsc -p . --noEmit

services: ## make sure PostgreSQL, Redis and NATS answer (starts them where this machine can)
	bash scripts/services.sh

test: $(STAMP) $(NODE_STAMP) $(EXAMPLE_STAMP) system-packages $(DASHBOARD) services ## what CI checks: lint, format, types (strict on the cores), all tests
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy emergence engine ledger_service observer_service runner gateway bench
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/pytest -q -p no:cacheprovider

test-fast: install ## unit and simulation tests only
	$(BIN)/pytest -q tests/unit tests/sim

run: $(STAMP) ## an embedded run with the defaults (20 agents, 1 000 ticks, seed 42)
	$(BIN)/emergence run

up: install ## the full mesh as separate processes on this machine
	$(BIN)/emergence up

bench: $(STAMP) ## all benchmarks; figures go to docs/benchmarks.md
	$(BIN)/emergence bench all

clean: ## remove the virtualenv, caches and runs
	rm -rf $(VENV) observer/node_modules examples/node/node_modules .mypy_cache .ruff_cache .pytest_cache runs
