"""
### import_transactions — an investigator's CSV of transfers into the warehouse, on demand

**Purpose.** The DAG form of `supervision import transactions FILE` (README, "Bringing a bank's statement
export"): the same importer turns a CSV of transfers (a bank's statement export, a case file) put in
`$SUPERVISION_HOME/imports/` into ordinary submissions in the landing zone, one per institution and
month, then ingests exactly those submissions through the quality gate (archive, verify, COPY, GX,
promote or quarantine), as `ingest_submissions` would.

**Trigger.** Manual (no schedule), with params: `file` (a file name in the imports folder; a path that
leaves the folder, a non-regular file or one over `SUPERVISION_IMPORT_MAX_BYTES`, default 1 GiB, is
refused), `institution` (the code for rows that name none), `dry_run` (check the file and the
institutions only, write nothing), `replace` (write the next version where a month is already in the
landing zone). Every institution of the file must be known (`supervision institutions admit CODE`).
A bad file fails `import_file` with one line per bad row (file, row, column, rule), and is not retried.

**Inputs.** The file; the landing zone; connection `supervision_loader`.

**Outputs.** The submissions in `landing/`, then `raw.customer_individual`, `raw.customer_corporate`,
`raw.account`, `raw.transaction` (or `quarantine.*`) and the submission log in `ops`. One Asset event per
dataset that had a batch accepted (`supervision://warehouse/raw/<dataset>`), which schedules
`build_warehouse`: the marts (`marts_flows.flow_alerts`, the portraits) follow.

**Rerun.** A second run of the same file is refused (the months are in the landing zone) unless
`replace`; the ingest step is idempotent (a submission already processed is skipped).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, Param, dag, get_current_context, task

from include.assets import RAW_ASSET_URIS

LOADER_CONN = "supervision_loader"
#: what the importer writes (include/flows/importer.py: write_submissions)
IMPORTED_DATASETS = ("customer_individual", "customer_corporate", "account", "transaction")


@dag(
    dag_id="import_transactions",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["supervision", "ingest", "flows", "import"],
    default_args={"owner": "investigations", "retries": 2, "retry_delay": timedelta(minutes=1),
                  "execution_timeout": timedelta(hours=2)},  # no task hangs a slot forever
    params={
        "file": Param("", type="string", description="a CSV file name in $SUPERVISION_HOME/imports/"),
        "institution": Param("", type="string", description="institution code for rows that name none"),
        "dry_run": Param(False, type="boolean", description="check only, write nothing"),
        "replace": Param(False, type="boolean", description="supersede months already in the landing zone"),
    },
    doc_md=__doc__,
)
def import_transactions():
    @task(execution_timeout=timedelta(minutes=30))
    def import_file() -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from include.flows.import_task import run_import
        from include.ingest.admission import require_admitted
        from include.warehouse.connection import airflow_conn_url

        params, url = get_current_context()["params"], airflow_conn_url(LOADER_CONN)
        try:
            return run_import(params["file"], params.get("institution") or None, bool(params.get("dry_run")),
                              bool(params.get("replace")), check_codes=lambda codes: require_admitted(url, codes))
        except ValueError as e:  # a bad file or an unknown institution (one line each): a retry will not help
            raise AirflowFailException(str(e)) from None

    @task(execution_timeout=timedelta(hours=2))
    def ingest(imported: dict) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from include.ingest.pipeline import ingest_shard
        from include.warehouse.connection import airflow_conn_url

        if not imported["manifests"]:
            raise AirflowSkipException("dry run: nothing written" if imported["dry_run"] else "nothing written")
        run_id = get_current_context()["run_id"]
        return ingest_shard(airflow_conn_url(LOADER_CONN), imported["manifests"], dag_run_id=run_id)

    summary = ingest(import_file())

    for name in IMPORTED_DATASETS:

        @task(task_id=f"publish_{name}", outlets=[Asset(RAW_ASSET_URIS[name])],
              execution_timeout=timedelta(minutes=5))
        def publish(result: dict, dataset: str = name) -> int:
            """Emit the dataset's Asset event only when a batch of it was accepted in this run."""
            from airflow.sdk.exceptions import AirflowSkipException

            from include.ingest.pipeline import accepted_datasets

            if dataset not in accepted_datasets([result]):
                raise AirflowSkipException(f"no new {dataset} batch accepted")
            return result.get("accepted_rows", {}).get(dataset, 0)

        publish(summary)


import_transactions()
