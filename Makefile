# The two commands: `make demo` and `make test`. Everything else is a convenience.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test venv lint bi bi-down up down status airflow-ui docs bench bench-ingest bench-external bench-warehouse clean-state help

help:
	@echo "make demo   - install, simulate a regulated universe, run the pipeline through Airflow, show results"
	@echo "make test   - lint and the full test suite (two pytest processes, each with a PostgreSQL it starts and stops)"
	@echo "make bi     - Superset for supervisors on the built warehouse (make bi-down stops it)"
	@echo "make up|down|status|airflow-ui|docs|bench|bench-ingest|bench-external|bench-warehouse|clean-state"

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or: make PYTHON=python3 ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

SV := $(VENV)/bin/supervision

$(STAMP): requirements.txt pyproject.toml | $(PY)
	@# -qq: errors only (a machine's pip config can add a warning per package, e.g. a missing local index)
	$(PY) -m pip install --quiet --quiet --upgrade pip
	$(PY) -m pip install --quiet --quiet -r requirements.txt
	@# the `supervision` command (this package, editable; its dependencies are the pins above)
	$(PY) -m pip install --quiet --quiet --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(SV) demo

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	@# The suite runs as two pytest processes side by side, each a session of its own (own PostgreSQL, own
	@# base temp) on a fixed split of the test files (tests/halves.py: the modules using the built warehouse,
	@# and the rest), with sqlfluff (1-2 min, one process) beside them; the reports are printed when all
	@# three have finished, and any failing fails the target. A base temp of its own: two suites on one
	@# machine must not clean up each other's tmp_path dirs.
	@bt=$$(mktemp -d -t sv-pytest-XXXXXX); \
	$(PY) -m tests.halves --sqlfluff --basetemp="$$bt"; rc=$$?; rm -rf "$$bt"; exit $$rc

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	cd dbt_project && ../$(VENV)/bin/sqlfluff lint models --processes 2

# Superset for supervisors (#15): its own virtualenv (built once, keyed by bi/constraints.txt), users and
# dashboards from bi/, served on 127.0.0.1:$${SUPERVISION_BI_PORT:-8088}. Needs the warehouse built.
bi: $(STAMP)
	$(PY) -m include.bi up

bi-down: $(STAMP)
	$(PY) -m include.bi down

up: $(STAMP)
	$(SV) up

down: $(STAMP)
	$(SV) down

status: $(STAMP)
	$(SV) status

airflow-ui: $(STAMP)
	$(SV) airflow-ui

docs: $(STAMP)
	$(SV) dbt -- docs generate
	@echo "dbt docs: $${SUPERVISION_HOME:-$$HOME/.local/share/supervision}/dbt_target/index.html"

bench-external: $(STAMP)
	$(PY) bench/external/fetch_speed.py
	$(PY) bench/external/evaluate.py

bench: bench-ingest bench-external bench-warehouse

# Warehouse: full dbt build vs simulate advance + incremental build, then again after 4x more history.
bench-warehouse: $(STAMP)
	$(PY) -m bench.warehouse.bench_warehouse --preset small --seed 7

# Ingest: raw COPY vs the floor of any land-then-promote load vs the validated path vs pandas.to_sql, on the
# small world's ~1M transaction rows in $SUPERVISION_HOME (generated here if missing); figures in bench/README.md.
# Without --profile: cProfile slows the validated path several times (add it by hand to see where time goes).
bench-ingest: $(STAMP)
	@ls "$${SUPERVISION_HOME:-$$HOME/.local/share/supervision}"/landing/*/*/*/transaction.csv* >/dev/null 2>&1 || \
		$(SV) simulate generate --world small --seed 7
	$(PY) -m bench.ingest.run --sizes 1000000 --out bench/results/ingest.json

clean-state: $(STAMP)
	-$(SV) down
	rm -rf "$${SUPERVISION_HOME:-$$HOME/.local/share/supervision}"
