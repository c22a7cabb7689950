"""DAG integrity: every DAG file imports, follows the team's conventions, and has no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from include.assets import MARTS_ASSET_URI, RAW_ASSET_URIS
from include.config import DAGS_DIR

DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))
HEAVY = {"sklearn", "great_expectations", "pandas", "numpy", "psycopg", "sqlalchemy", "dbt"}


def test_every_dag_file_imports_without_errors(airflow_dagbag):
    assert airflow_dagbag.import_errors == {}
    assert {"ingest_submissions", "build_warehouse"} <= set(airflow_dagbag.dags)


def test_dag_conventions(airflow_dagbag):
    for dag_id, dag in airflow_dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md and len(dag.doc_md) > 200, f"{dag_id} needs a doc_md (purpose, inputs, outputs, rerun)"
        assert dag.catchup is False, dag_id
        assert dag.max_active_runs == 1, dag_id
        for t in dag.tasks:
            assert t.owner and t.owner != "airflow", f"{dag_id}.{t.task_id} has no owner"
            assert t.retries >= 2, f"{dag_id}.{t.task_id} retries={t.retries}"
            # a hung task (a stuck COPY, a dbt build waiting on a lock) must not hold its slot forever
            assert t.execution_timeout is not None, f"{dag_id}.{t.task_id} has no execution_timeout"
            assert t.execution_timeout.total_seconds() <= 4 * 3600, f"{dag_id}.{t.task_id}"


def test_no_cycles(airflow_dagbag):
    for dag_id, dag in airflow_dagbag.dags.items():
        seen: dict[str, int] = {}

        def visit(task_id: str, dag=dag, seen=seen, dag_id=dag_id) -> None:
            state = seen.get(task_id)
            if state == 1:
                raise AssertionError(f"cycle in {dag_id} through {task_id}")
            if state == 2:
                return
            seen[task_id] = 1
            for down in dag.get_task(task_id).downstream_task_ids:
                visit(down)
            seen[task_id] = 2

        for t in dag.tasks:
            visit(t.task_id)


def test_dags_are_linked_by_assets(airflow_dagbag):
    ingest = airflow_dagbag.dags["ingest_submissions"]
    emitted = {o.uri for t in ingest.tasks for o in t.outlets}
    assert set(RAW_ASSET_URIS.values()) <= emitted
    build = airflow_dagbag.dags["build_warehouse"]

    def uris(cond) -> set[str]:
        return {cond.uri} if hasattr(cond, "uri") else set().union(*(uris(c) for c in cond.objects))

    scheduled_on = uris(build.timetable.asset_condition)
    assert set(RAW_ASSET_URIS.values()) <= scheduled_on
    assert MARTS_ASSET_URI in {o.uri for t in build.tasks for o in t.outlets}


def test_build_warehouse_runs_one_dbt_build_watched_per_model(airflow_dagbag):
    """Watcher mode: one producer runs `dbt build`; every model and its tests have a task that reports
    the node's result, and all of them wait for the build (so a one-slot executor cannot deadlock)."""
    tasks = {t.task_id: t for t in airflow_dagbag.dags["build_warehouse"].tasks}
    producers = [i for i in tasks if i.endswith(".dbt_producer_watcher")]
    assert producers == ["dbt.dbt_producer_watcher"]
    from cosmos.operators.watcher import DbtRunWatcherOperator

    model = tasks["dbt.capital_adequacy.run"]  # Cosmos' class, reading node_results (include/cosmos_watcher.py)
    assert isinstance(model, DbtRunWatcherOperator), type(model).__name__
    assert "dbt.capital_adequacy.test" in tasks and "dbt.stg_submissions__capital_reports.run" in tasks
    producer = tasks["dbt.dbt_producer_watcher"]
    roots = [t for i, t in tasks.items() if i.startswith("dbt.") and t is not producer
             and not any(u.startswith("dbt.") for u in t.upstream_task_ids)]
    assert roots == [], [t.task_id for t in roots]


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_files_keep_heavy_imports_inside_tasks(path: Path):
    tree = ast.parse(path.read_text())
    top = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            top += [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            top.append(node.module.split(".")[0])
    assert not HEAVY & set(top), f"{path.name} imports {HEAVY & set(top)} at module level"


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_files_use_the_task_sdk(path: Path):
    text = path.read_text()
    assert "from airflow.sdk import" in text
    assert "from airflow.models" not in text and "from airflow.decorators" not in text


def test_scoring_and_retraining_cover_every_preset(airflow_dagbag):
    """One scoring task and one retraining group per panel (institution, firm, account), and the serving marts
    rebuild once any panel scored: a panel that cannot train yet (skipped) must not hold back the other."""
    from ml.dag_tasks import DEFAULT_PRESETS
    from ml.presets import PRESETS

    assert set(DEFAULT_PRESETS) == set(PRESETS) == {"institution", "firm", "account"}
    score = airflow_dagbag.dags["score_risk"]
    retrain = airflow_dagbag.dags["retrain_models"]
    for preset in DEFAULT_PRESETS:
        t = score.get_task(f"score_{preset}")
        assert f"flag_large_drift_{preset}" in t.downstream_task_ids
        serving_roots = [score.get_task(i) for i in t.downstream_task_ids if i.startswith("serving.")]
        assert serving_roots and all(r.trigger_rule == "none_failed_min_one_success" for r in serving_roots)
        assert retrain.get_task(f"{preset}.train_candidate").downstream_task_ids == {f"{preset}.promote"}


def test_dag_task_helpers_import_nothing_heavy():
    """DAG files read DEFAULT_PRESETS from ml.dag_tasks while they are parsed."""
    import subprocess
    import sys

    code = f"import sys, ml.dag_tasks; print(sorted(m for m in {sorted(HEAVY)!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parents[1]).stdout.strip()
    assert out == "[]"
