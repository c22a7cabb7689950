"""The dbt project rendered as Airflow tasks by astronomer-cosmos, configured once for every DAG that
builds models (``build_warehouse`` builds all of them; ``score_risk`` rebuilds the serving marts that
read ``ml.risk_scores`` after scoring).

Rendered from dbt's ``manifest.json`` (``LoadMode.DBT_MANIFEST``, made by ``python -m include.cli
dbt-parse``), one task per seed/snapshot/model running ``dbt build`` on that node (``TestBehavior.BUILD``:
the model, then its tests, in one dbt start-up). ``--indirect-selection cautious``: a node's task tests
only what depends on that node alone; a relationships test between two marts would otherwise run with
the first of them, before the other exists. Cross-model tests run in a full ``dbt build``.
"""

from __future__ import annotations

import os
from pathlib import Path

from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import LoadMode, TestBehavior
from cosmos.profiles import PostgresUserPasswordProfileMapping

from include.config import DBT_PROJECT_DIR, paths

MANIFEST = paths().dbt_target / "manifest.json"
DBT_EXECUTABLE = Path(os.environ.get("SUPERVISION_DBT_EXECUTABLE", Path(os.sys.executable).parent / "dbt"))


def dbt_task_group(group_id: str, select: list[str] | None = None) -> DbtTaskGroup:
    """A task group of the dbt project's nodes (``select``: dbt selectors, default every node), run as
    the ``transformer`` role through the Airflow connection ``supervision_transformer``."""
    if not MANIFEST.exists():
        raise FileNotFoundError(f"dbt manifest not found at {MANIFEST}; run `python -m include.cli dbt-parse`")
    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(dbt_project_path=DBT_PROJECT_DIR, manifest_path=MANIFEST),
        profile_config=ProfileConfig(
            profile_name="supervision",
            target_name="transformer",
            profile_mapping=PostgresUserPasswordProfileMapping(
                conn_id="supervision_transformer", profile_args={"schema": "staging", "threads": 2}),
        ),
        execution_config=ExecutionConfig(dbt_executable_path=str(DBT_EXECUTABLE)),
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.BUILD,
                                   emit_datasets=False, select=list(select or [])),
        operator_args={"install_deps": False, "dbt_cmd_flags": ["--indirect-selection", "cautious"]},
    )
