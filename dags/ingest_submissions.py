"""
### ingest_submissions — regulatory submissions into the warehouse, through a quality gate

**Purpose.** Picks up every complete submission in the landing zone
(`landing/<institution>/<period>/<submission_id>/manifest.json` + data files), and for each file:
archives it as received, verifies it (sha256, manifest, header), COPYs it into a per-batch landing
table, validates it with a Great Expectations checkpoint pushed down to PostgreSQL, then promotes it
to `raw.<dataset>` or quarantines it with its reasons, in one transaction.

**Inputs.** The landing zone under `$SUPERVISION_HOME/landing`; connection `supervision_loader`.

**Outputs.** `raw.*`, `quarantine.*`, the submission log in `ops` (`ops.batch`, `ops.batch_event`,
`ops.dq_result`), GX Data Docs under `$SUPERVISION_HOME/gx`. One Asset event per dataset that had
a batch accepted (`supervision://warehouse/raw/<dataset>`), which schedules `build_warehouse`.

**Rerun.** Always safe: a submission already processed is skipped, a file already accepted is a
no-op, a batch interrupted mid-way resumes from its last committed state.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, dag, get_current_context, task

from include.assets import RAW_ASSET_URIS

LOADER_CONN = "supervision_loader"


@dag(
    dag_id="ingest_submissions",
    schedule="*/30 * * * *",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["supervision", "ingest", "quality"],
    default_args={"owner": "data-engineering", "retries": 2, "retry_delay": timedelta(minutes=1),
                  "execution_timeout": timedelta(hours=2)},  # no task hangs a slot forever
    doc_md=__doc__,
)
def ingest_submissions():
    @task
    def discover() -> list[list[str]]:
        from include.ingest.pipeline import discover_shards
        from include.warehouse.connection import airflow_conn_url

        return discover_shards(airflow_conn_url(LOADER_CONN))

    # bounded: no input can hold a shard forever (issue #14: a FIFO once hung it with no timeout)
    @task(max_active_tis_per_dagrun=4, execution_timeout=timedelta(hours=2))
    def ingest(shard: list[str]) -> dict:
        from include.ingest.pipeline import ingest_shard
        from include.warehouse.connection import airflow_conn_url

        run_id = get_current_context()["run_id"]
        return ingest_shard(airflow_conn_url(LOADER_CONN), shard, dag_run_id=run_id)

    summaries = ingest.expand(shard=discover())

    for name, uri in RAW_ASSET_URIS.items():

        @task(task_id=f"publish_{name}", outlets=[Asset(uri)])
        def publish(results: list[dict], dataset: str = name) -> int:
            """Emit the dataset's Asset event only when a batch of it was accepted in this run."""
            from airflow.sdk.exceptions import AirflowSkipException

            from include.ingest.pipeline import accepted_datasets

            if dataset not in accepted_datasets(list(results)):
                raise AirflowSkipException(f"no new {dataset} batch accepted")
            return sum(r.get("accepted_rows", {}).get(dataset, 0) for r in results)

        publish(summaries)


ingest_submissions()
