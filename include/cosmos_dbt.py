"""The dbt project rendered as Airflow tasks by astronomer-cosmos, configured once for every DAG that
builds models (``build_warehouse`` builds all of them; ``score_risk`` rebuilds the serving marts that
read ``ml.risk_scores`` after scoring).

The watcher tasks are Cosmos' own classes with one change (include/cosmos_watcher.py): the producer also
pushes every node's result in one XCom, and a model's task reads that one XCom on its first try instead of
five execution-API requests (Cosmos' own poke for everything else: retries, a producer that died).

Rendered from dbt's ``manifest.json`` (``LoadMode.DBT_MANIFEST``, made by ``supervision
dbt-parse``). Execution mode ``watcher`` (Cosmos ``ExecutionMode.WATCHER``, the default here): one
producer task runs a single ``dbt build`` of the selection with dbt's own threads (models, seeds,
snapshots and every test, including tests between two models), and one task per model and per model's
tests reports that node's result from the build, so Airflow still shows, retries and alerts per model.
Measured on the tiny world: ``build_warehouse`` 5.5 min against more than 15 min with one ``dbt build``
per node (``SUPERVISION_DBT_EXECUTION=local``, kept as the fallback) on the same loaded machine: dbt's
start-up per node dominated. ``--indirect-selection cautious``: in local mode a node's task tests only
what depends on that node alone (a relationships test between two marts would otherwise run with the
first of them, before the other exists).

dbt's partial parse: the producer runs dbt in a copy of the project and would parse the whole project
(16 s in a demo's first build under load: "Unable to do partial parsing because config vars, config profile,
or config target have changed") because Cosmos finds no partial-parse state of its own before its first run.
The CLI's dbt runs (``supervision dbt-parse`` and every ``_dbt``) pass the same ``--profile`` and ``--target``
as Cosmos, so their state is valid for Cosmos too; :func:`seed_partial_parse` copies it into the task group's
Cosmos cache when it is newer than the cache's (Cosmos uses the newer of its cache and the project's).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from airflow.sdk import TaskGroup
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import (
    PRODUCER_WATCHER_DONE_TASK_ID,
    PRODUCER_WATCHER_TASK_ID,
    ExecutionMode,
    LoadMode,
    TestBehavior,
)
from cosmos.profiles import PostgresUserPasswordProfileMapping

from include.config import DBT_PROJECT_DIR, paths
from include.cosmos_watcher import use_summary

MANIFEST = paths().dbt_target / "manifest.json"
# watcher (default): one `dbt build` for the whole selection, model tasks report each node's result.
# local: one `dbt build` per node (slower: a dbt start-up per node; the fallback if watcher misbehaves).
MODE = ExecutionMode(os.environ.get("SUPERVISION_DBT_EXECUTION", "watcher"))
DBT_EXECUTABLE = Path(os.environ.get("SUPERVISION_DBT_EXECUTABLE", Path(os.sys.executable).parent / "dbt"))


def dbt_task_group(group_id: str, select: list[str] | None = None,
                   root_trigger_rule: str | None = None) -> DbtTaskGroup:
    """A task group of the dbt project's nodes (``select``: dbt selectors, default every node), run as
    the ``transformer`` role through the Airflow connection ``supervision_transformer``.
    ``root_trigger_rule``: the trigger rule of the group's first tasks (watcher mode: the producer), e.g.
    ``none_failed_min_one_success`` to build after several upstream tasks of which some may skip."""
    if not MANIFEST.exists():
        raise FileNotFoundError(f"dbt manifest not found at {MANIFEST}; run `supervision dbt-parse`")
    watcher = MODE == ExecutionMode.WATCHER
    # watcher: tests are watched per model (AFTER_EACH); the producer's `dbt build` runs them. local: each
    # node's task runs `dbt build` on it (BUILD: the model, then its tests, in one dbt start-up).
    test_behavior = TestBehavior.AFTER_EACH if watcher else TestBehavior.BUILD
    operator_args = {"install_deps": False, "dbt_cmd_flags": ["--indirect-selection", "cautious"]}
    if watcher:
        # --no-write-json: the producer's dbt would write manifest.json and semantic_manifest.json twice
        # and run_results.json into its throw-away copy of the project (seconds of its start and end);
        # Cosmos reads the node results from dbt's events, the partial-parse state is written anyway.
        operator_args |= {"deferrable": False, "poke_interval": 5,
                          "dbt_cmd_flags": [*operator_args["dbt_cmd_flags"], "--no-write-json"]}
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(dbt_project_path=DBT_PROJECT_DIR, manifest_path=MANIFEST),
        profile_config=ProfileConfig(
            profile_name="supervision",
            target_name="transformer",
            profile_mapping=PostgresUserPasswordProfileMapping(
                conn_id="supervision_transformer", profile_args={"schema": "staging", "threads": 2}),
        ),
        execution_config=ExecutionConfig(dbt_executable_path=str(DBT_EXECUTABLE), execution_mode=MODE),
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=test_behavior,
                                   emit_datasets=False, select=list(select or [])),
        operator_args=operator_args,
    )
    if watcher:
        _producer_first(group)
        use_summary(_tasks(group))  # include/cosmos_watcher.py: one XCom of the build's results per task
    for task in _tasks(group):
        if getattr(task, "partial_parse", False) and getattr(task, "cache_dir", None):
            seed_partial_parse(Path(task.cache_dir))
            break
    if root_trigger_rule:
        for task in group.roots:
            task.trigger_rule = root_trigger_rule
    return group


def _tasks(group: TaskGroup) -> list:
    out = []
    for child in group.children.values():
        out.extend(_tasks(child) if isinstance(child, TaskGroup) else [child])
    return out


def _producer_first(group: TaskGroup) -> None:
    """Watcher mode inside a task group: Cosmos leaves the producer (the one ``dbt build``) beside the
    model tasks, which then wait for its results. Make it their upstream instead, as Cosmos does for a
    ``DbtDag`` (trigger rule ``all_done``, so a failed build still reports each model's own state): no model
    task occupies a slot before the build runs, and an executor that runs one task at a time
    (``dag.test()``) cannot start a watcher ahead of the build it waits for."""
    tasks = _tasks(group)
    producer = next(t for t in tasks if t.task_id.endswith("." + PRODUCER_WATCHER_TASK_ID))
    members = {t.task_id for t in tasks}
    for task in tasks:
        if task is producer or task.task_id.endswith("." + PRODUCER_WATCHER_DONE_TASK_ID):
            continue
        if not task.upstream_task_ids & members:
            producer >> task
            task.trigger_rule = "all_done"


def seed_partial_parse(cache_dir: Path) -> bool:
    """Copy the CLI's partial-parse state (``<state>/dbt_target/partial_parse.msgpack``) into a Cosmos cache
    directory when the cache has none or an older one. Returns whether it copied. Cheap when up to date (two
    stats): it runs whenever the DAG file is parsed."""
    source = paths().dbt_target / "partial_parse.msgpack"
    target = cache_dir / "target" / "partial_parse.msgpack"
    try:
        newer = source.stat().st_mtime > (target.stat().st_mtime if target.exists() else 0)
    except FileNotFoundError:
        return False
    if not newer:
        return False
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    shutil.copyfile(source, partial)
    os.chmod(partial, 0o600)
    os.replace(partial, target)  # atomic: a producer reading the cache never sees half a file
    return True
