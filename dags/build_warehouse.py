"""
### build_warehouse — dbt models of the supervision warehouse, one Airflow task per model

**Purpose.** Builds the dbt project in `dbt_project/` (staging → intermediate → marts) with
astronomer-cosmos, rendered from dbt's `manifest.json` (`LoadMode.DBT_MANIFEST`, made by `dbt parse`):
every seed, snapshot and model is a task. Execution mode `watcher` (the default): one producer task
runs a single `dbt build` of the whole project with dbt's threads, and each model's task reports that
node's result (a failing model or test fails its task and everything downstream). With
`SUPERVISION_DBT_EXECUTION=local` every node's task runs its own `dbt build` instead (slower: one dbt
start-up per node). See include/cosmos_dbt.py.

**Schedule.** Data-aware: runs when `ingest_submissions` accepts a batch of any dataset
(`supervision://warehouse/raw/<dataset>` Assets) or `ingest_external` loads a feed
(`supervision://warehouse/raw_ext/<feed>`).

**Inputs.** `raw.*`, `raw_ext.*`, `ops.*`, `ml.risk_scores` via connection `supervision_transformer`
(role `transformer`).

**Outputs.** `staging.*`, `intermediate.*`, `marts_*.*` (row-level security by bureau re-applied on
every build), `reference.*`; the Asset `supervision://warehouse/marts`.

**Skipped when nothing changed.** The first task, `inputs_changed`, fingerprints what the project reads
(every dbt source's row counters but the `ml` outputs `score_risk` writes, `ops.batch`, the project's files;
include/warehouse/fingerprint.py) and
skips the build and `publish` when the fingerprint equals the last successful build's: a rerun, or an
ingest run that loaded nothing new, costs a second instead of a full `dbt build`. `publish` records the
fingerprint taken before the build, so data arriving during a build triggers the next one.

**Rerun.** Safe: models are rebuilt from raw (tables) or merged by period (incremental models). To force
a build with unchanged inputs, delete `<state>/dbt_target/inputs.fingerprint`.
If the DAG fails to import with "manifest not found", run `supervision dbt-parse`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, dag, task

from include.assets import MARTS_ASSET_URI, RAW_ASSET_URIS, RAW_EXT_ASSET_URIS
from include.cosmos_dbt import dbt_task_group

schedule = None
for uri in [*RAW_ASSET_URIS.values(), *RAW_EXT_ASSET_URIS.values()]:
    schedule = Asset(uri) if schedule is None else schedule | Asset(uri)


@dag(
    dag_id="build_warehouse",
    schedule=schedule,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["supervision", "dbt", "warehouse"],
    default_args={"owner": "data-engineering", "retries": 2, "retry_delay": timedelta(minutes=1),
                  "execution_timeout": timedelta(hours=2)},  # no task hangs a slot forever
    doc_md=__doc__,
)
def build_warehouse():
    @task.short_circuit(ignore_downstream_trigger_rules=True)
    def inputs_changed() -> str | None:
        """The inputs' fingerprint if they changed since the last successful build, else None (skip all)."""
        import psycopg

        from include.warehouse.connection import airflow_conn_url, libpq_url
        from include.warehouse.fingerprint import inputs_changed as changed

        with psycopg.connect(libpq_url(airflow_conn_url("supervision_transformer"))) as conn:
            return changed(conn)

    @task(outlets=[Asset(MARTS_ASSET_URI)])
    def publish(fingerprint: str) -> str:
        """Record the inputs this build saw; tell the scoring DAG the marts are fresh."""
        from include.warehouse.fingerprint import record_build

        record_build(fingerprint)
        return MARTS_ASSET_URI

    fingerprint = inputs_changed()
    dbt = dbt_task_group("dbt")  # include/cosmos_dbt.py: one `dbt build` task per node
    fingerprint >> dbt
    dbt >> publish(fingerprint)


build_warehouse()
