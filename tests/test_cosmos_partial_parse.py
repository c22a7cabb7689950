"""The DAGs' dbt producer starts from the CLI's partial-parse state instead of parsing the whole project.

Parsing the DAG files (``airflow_dagbag``: `supervision dbt-parse`, then every DAG file) seeds each dbt task
group's Cosmos cache with the state directory's ``partial_parse.msgpack`` (include/cosmos_dbt.py
seed_partial_parse). dbt run the way Cosmos runs it (the profile Cosmos renders from the Airflow connection, a
copy of the project, ``--profile``/``--target``) must accept that state: no "Unable to do partial parsing".
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path


def _producer(dag):
    return next(t for t in dag.tasks if t.task_id.endswith("dbt_producer_watcher"))


def test_the_dag_parse_seeds_the_cosmos_cache_with_the_cli_state(airflow_dagbag):
    from include.config import paths

    state = (paths().dbt_target / "partial_parse.msgpack").read_bytes()
    for dag_id in ("build_warehouse", "score_risk"):
        producer = _producer(airflow_dagbag.get_dag(dag_id))
        cached = Path(producer.cache_dir) / "target" / "partial_parse.msgpack"
        assert cached.read_bytes() == state, dag_id
        assert cached.stat().st_mode & 0o077 == 0, dag_id


def test_seeding_copies_only_a_newer_state(airflow_dagbag, tmp_path):
    from include.config import paths
    from include.cosmos_dbt import seed_partial_parse

    source = paths().dbt_target / "partial_parse.msgpack"
    assert seed_partial_parse(tmp_path) is True
    assert seed_partial_parse(tmp_path) is False  # up to date
    later = time.time() + 5
    os.utime(source, (later, later))
    assert seed_partial_parse(tmp_path) is True


def test_dbt_run_as_cosmos_runs_it_reuses_the_seeded_state(airflow_dagbag, tmp_path):
    from include.cli.warehouse import _venv_bin
    from include.config import DBT_PROJECT_DIR

    producer = _producer(airflow_dagbag.get_dag("build_warehouse"))
    project = tmp_path / "project"  # Cosmos runs dbt in a copy of the project
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    (project / "target").mkdir()
    shutil.copy(Path(producer.cache_dir) / "target" / "partial_parse.msgpack", project / "target")
    with producer.profile_config.ensure_profile() as (profile_path, env_vars):
        proc = subprocess.run(
            [_venv_bin("dbt"), "ls", "--resource-type", "snapshot", "--project-dir", str(project),
             "--profiles-dir", str(Path(profile_path).parent), "--profile", "supervision", "--target",
             "transformer", "--log-path", str(tmp_path / "logs")],
            env={**os.environ, **env_vars, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"},
            capture_output=True, text=True, cwd=project)
    assert proc.returncode == 0, proc.stdout[-4000:]
    log = (tmp_path / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing enabled" in log
