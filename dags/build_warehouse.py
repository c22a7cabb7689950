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

**Rerun.** Safe: models are rebuilt from raw (tables) or merged by period (incremental models).
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
    dbt = dbt_task_group("dbt")  # include/cosmos_dbt.py: one `dbt build` task per node

    @task(outlets=[Asset(MARTS_ASSET_URI)])
    def publish() -> str:
        """Tell the scoring DAG the marts are fresh."""
        return MARTS_ASSET_URI

    dbt >> publish()


build_warehouse()
