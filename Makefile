# The two commands: `make run` (a running marketplace with demo data) and `make test` (every check CI runs).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PORT ?= 8000
INSTALLED := $(VENV)/.installed

.PHONY: run test lint bench load install clean

# The venv is rebuilt whenever the pinned dependencies change. It also gets the buyer's `datamarket` command
# from client/, a package of its own (no Django in it) installed editable beside the project.
$(INSTALLED): pyproject.toml client/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet -e ./client
	touch $@

install: $(INSTALLED)

run: export DJANGO_DEBUG ?= true
run: export PATH := $(BIN):$(PATH)
run: $(INSTALLED)
	python manage.py migrate --noinput
	python manage.py seed_demo
	@echo ""
	@echo "  The marketplace runs on http://127.0.0.1:$(PORT)/  (Ctrl-C stops the web server, worker and beat)"
	@echo ""
	honcho -f Procfile.dev start -p $(PORT)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy marketplace datasets licensing creators bench load client/datamarket
	$(BIN)/python manage.py makemigrations --check --dry-run

test: lint
	$(BIN)/pytest

bench: $(INSTALLED)
	$(BIN)/python -m bench

# 50 simulated users for 60 s against gunicorn and a Celery worker on a scratch site (PostgreSQL, Redis).
load: $(INSTALLED)
	$(BIN)/python -m load

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache .mypy_cache
