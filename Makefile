# The two commands: `make demo` and `make test`. Everything else is a convenience.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test venv lint up down status airflow-ui docs bench clean-state help

help:
	@echo "make demo   - install, simulate a regulated universe, run the pipeline through Airflow, show results"
	@echo "make test   - lint and the full test suite (real PostgreSQL, started and stopped by the tests)"
	@echo "make up|down|status|airflow-ui|docs|bench|clean-state"

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or: make PYTHON=python3 ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m include.cli demo

test: $(STAMP)
	$(VENV)/bin/ruff check .
	cd dbt_project && ../$(VENV)/bin/sqlfluff lint models --processes 2
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

up: $(STAMP)
	$(PY) -m include.cli up

down: $(STAMP)
	$(PY) -m include.cli down

status: $(STAMP)
	$(PY) -m include.cli status

airflow-ui: $(STAMP)
	$(PY) -m include.cli airflow-ui

docs: $(STAMP)
	$(PY) -m include.cli dbt -- docs generate
	@echo "dbt docs: $${SUPERVISION_HOME:-$$HOME/.local/share/supervision}/dbt_target/index.html"

clean-state: $(STAMP)
	-$(PY) -m include.cli down
	rm -rf "$${SUPERVISION_HOME:-$$HOME/.local/share/supervision}"
