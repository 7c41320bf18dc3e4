# Hindsight's developer commands. Every target works from a fresh clone: the first one that needs
# Python creates .venv and installs requirements/dev.txt into it.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Installing again only when a requirements file is newer than this stamp keeps `make run`
# instant after the first time.
STAMP := $(VENV)/.installed
REQUIREMENTS := $(wildcard requirements/*.txt)
UV_VERSION ?= 0.13.8

HOST ?= 127.0.0.1
PORT ?= 8000
# Where links in emails and feeds point (hindsight/settings/product.py): the address `make run` serves
# on, unless the environment or the command line says otherwise. `make worker` sends the mail,
# so it passes the same.
HINDSIGHT_BASE_URL ?= http://$(HOST):$(PORT)
# Extra arguments for pytest: make test ARGS="-k gate -x"
ARGS ?=
# Some benchmarks only: make bench BENCH="probe lookup"
BENCH ?=

.PHONY: help venv run serve test worker lint fmt typecheck bench audit

help:
	@echo "make run     create the venv, migrate, load the demo and serve on http://$(HOST):$(PORT) (PORT=...)"
	@echo "make test    the whole suite (private PostgreSQL and Redis when installed); ARGS=... for pytest"
	@echo "make worker  Celery worker with beat; needs REDIS_URL"
	@echo "make serve   production on one small machine: gunicorn, Celery worker and beat (settings: deploy/hindsight.env.example)"
	@echo "make audit   pip-audit over requirements/*.txt (needs its advisory source reachable)"
	@echo "make lint    ruff check and ruff format --check"
	@echo "make fmt     ruff fixes and formatting, in place"
	@echo "make typecheck  mypy with the Django and DRF plugins (settings in pyproject.toml)"
	@echo "make bench   benchmarks: API lists, prober, health look-up, import, status page, live pages, scale;"
	@echo "             one table of figures against targets, non-zero when one is missed;"
	@echo "             BENCH=\"probe scale\" for some, HINDSIGHT_BENCH_QUICK=1 for quick sizes"
	@echo "make venv    create or update .venv"

venv: $(STAMP)

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(REQUIREMENTS) pyproject.toml | $(BIN)/python
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --python $(BIN)/python -r requirements/dev.txt
	@# The project itself, editable, for its console script (hindsight-ci). Its build backend is
	@# the setuptools pinned in requirements/dev.txt, just installed: no isolated build, no network.
	$(BIN)/uv pip install --python $(BIN)/python --offline --no-build-isolation --no-deps -e .
	@touch $@

run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo --history
	@echo
	@echo "  Hindsight is starting on http://$(HOST):$(PORT)/"
	@echo "  Log in with a demo login printed above by load_demo."
	@echo
	HINDSIGHT_BASE_URL='$(HINDSIGHT_BASE_URL)' $(BIN)/python manage.py runserver $(HOST):$(PORT)

serve: venv
	bash scripts/serve.sh

audit: venv
	bash scripts/audit.sh

test: venv
	bash scripts/test.sh $(ARGS)

worker: venv
	@if [ -z "$(REDIS_URL)" ]; then \
		echo "make worker needs REDIS_URL, e.g. make worker REDIS_URL=redis://127.0.0.1:6379/0" >&2; \
		echo "(Without REDIS_URL there is nothing to consume: tasks run eagerly inside the web process.)" >&2; \
		exit 1; \
	fi
	@mkdir -p var
	REDIS_URL='$(REDIS_URL)' HINDSIGHT_BASE_URL='$(HINDSIGHT_BASE_URL)' \
		$(BIN)/celery -A hindsight worker -B -l info -s var/celerybeat-schedule

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: venv
	$(BIN)/mypy

bench: venv
	bash scripts/bench.sh $(BENCH)
