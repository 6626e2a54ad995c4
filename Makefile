# The two commands: `make run` (a running marketplace with demo data) and `make test` (every check CI runs).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PORT ?= 8000
INSTALLED := $(VENV)/.installed

.PHONY: run test lint tools bench load install clean

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
	$(BIN)/mypy core marketplace datasets licensing creators bench load client/datamarket
	$(BIN)/python manage.py makemigrations --check --dry-run

# exiftool is the buyer's reader the delivery tests search every delivered file with (Debian's package; apt-get
# needs root, so anyone else is told the command instead).
tools:
	@command -v exiftool >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libimage-exiftool-perl; \
	  else echo "exiftool is missing: sudo apt-get install libimage-exiftool-perl"; exit 1; fi; }

test: lint tools
	$(BIN)/pytest

bench: $(INSTALLED)
	$(BIN)/python -m bench

# 50 simulated users for 60 s against gunicorn and a Celery worker on a scratch site (PostgreSQL, Redis).
load: $(INSTALLED)
	$(BIN)/python -m load

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache .mypy_cache
