# kotha: `make run` starts the server, `make test` runs every test. Both set up
# what they need first (idempotently: a stamp per step, redone when its inputs change).

SHELL := /bin/bash
.DEFAULT_GOAL := run

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
HOST ?= 127.0.0.1
PORT ?= 8080
# make run NODES=2: that many nodes on this machine, one port, sharing a Redis started here.
NODES ?= 1
# Debian packages the tests need: a real browser, a Bengali font for its screenshots,
# tools that make speech for its fake microphone, and a real Redis for the registry's tests.
TEST_APT := chromium fonts-lohit-beng-bengali fonts-nanum sox espeak-ng redis-server

.PHONY: run test test-redis setup setup-test lint bench clean apt

run: setup
	@if [ "$(NODES)" != 1 ] && ! command -v redis-server >/dev/null; then \
		$(MAKE) --no-print-directory apt PACKAGES="redis-server"; fi
	$(BIN)/kotha serve --demo --host $(HOST) --port $(PORT) --nodes $(NODES)

# The integration tests run a second time with the call centre's state in a real Redis
# (pytest --redis starts a redis-server on a free port and stops it by its PID).
REDIS_TESTS := tests/callcenter tests/node tests/api tests/signaling tests/media tests/recording tests/quality tests/transcribe

test: setup-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest
	$(BIN)/pytest --redis $(REDIS_TESTS)

test-redis: setup-test
	$(BIN)/pytest --redis $(REDIS_TESTS)

lint: setup-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	$(BIN)/kotha bench relay --calls 5 --seconds 20 --json

setup: $(STAMPS)/python $(STAMPS)/web

setup-test: setup $(STAMPS)/python-test $(STAMPS)/apt-test

$(STAMPS)/python: pyproject.toml
	@mkdir -p $(STAMPS)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "kotha needs Python 3.11 or newer as $(PYTHON)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(STAMPS)/python-test: $(STAMPS)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

$(STAMPS)/web: web/package.json web/package-lock.json $(STAMPS)/node
	npm ci --prefix web --no-audit --no-fund --loglevel=error
	@mkdir -p web/vendor
	cp web/node_modules/socket.io-client/dist/socket.io.esm.min.js web/vendor/
	@touch $@

$(STAMPS)/node:
	@mkdir -p $(STAMPS)
	@command -v npm >/dev/null || $(MAKE) --no-print-directory apt PACKAGES="nodejs npm"
	@touch $@

$(STAMPS)/apt-test: Makefile
	@mkdir -p $(STAMPS)
	@dpkg -s $(TEST_APT) >/dev/null 2>&1 || $(MAKE) --no-print-directory apt PACKAGES="$(TEST_APT)"
	@touch $@

# Installs Debian packages without a prompt (CI runs as root with no stdin).
apt:
	@if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo -n"; fi; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(PACKAGES)

clean:
	rm -rf $(STAMPS) web/vendor web/node_modules test-artifacts .pytest_cache
