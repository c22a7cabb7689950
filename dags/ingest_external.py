"""
### ingest_external — external data feeds into `raw_ext`, with news and advert signals

**Purpose.** Fetches the external feeds (enterprise registry and its changes, court enforcement,
administrative penalties, real-estate developers' financial disclosures, news, illegal-advert leads)
over HTTP, incrementally from each feed's watermark (`ops.ext_watermark`), with backoff on 429
(honouring `Retry-After`) and 5xx, timeouts and a shape check; screens every page with the feed
registry's rules (`include/registry/feeds.py`); loads `raw_ext.<feed>` (latest version per natural
key) and `raw_ext.<feed>_history` (every version)
with lineage, malformed records into `quarantine.ext_record`. Then links news mentions to firms and
institutions and scores their risk tone, and links advertisers and flags illegal-fundraising promises
(`raw_ext.news_entity_link`, `raw_ext.news_tone`, `raw_ext.advert_lead_flag`).

**Inputs.** HTTP connection `external_feeds` (base URL of the feeds API); connection
`supervision_loader`. One task group per feed; the registry is loaded before news and adverts (their
entity dictionary).

**Outputs.** `raw_ext.*`, `quarantine.ext_record`, `ops.ext_fetch`, `ops.ext_watermark`; an Asset
event `supervision://warehouse/raw_ext/<feed>` per feed that loaded something new, which schedules
`build_warehouse`.

**Rerun.** Always safe: a batch and its watermark commit together, so a failed or killed run resumes
from the last committed watermark; re-fetched versions are no-ops. A feed whose shape changed fails
with the feed, page, record and field in the error, loading nothing of that fetch: update the
registry in `include/registry/feeds.py` (and migration) before rerunning.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, Connection, dag, get_current_context, task, task_group

from include.assets import RAW_EXT_ASSET_URIS

LOADER_CONN = "supervision_loader"
FEEDS_CONN = "external_feeds"
SIGNALS = {"news": "derive_news_signals", "advert_leads": "derive_advert_signals"}


@dag(
    dag_id="ingest_external",
    schedule="@hourly",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["supervision", "ingest", "external"],
    default_args={"owner": "data-engineering", "retries": 2, "retry_delay": timedelta(minutes=1),
                  "execution_timeout": timedelta(hours=1)},  # no task hangs a slot forever
    doc_md=__doc__,
)
def ingest_external():
    groups = {}
    for feed, uri in RAW_EXT_ASSET_URIS.items():

        @task_group(group_id=feed)
        def one_feed(feed: str = feed, uri: str = uri):
            @task(task_id="fetch", trigger_rule="none_failed")  # runs after the registry even if it had nothing new
            def fetch() -> dict:
                from include.external.tasks import base_url_of
                from include.external.tasks import fetch as fetch_one
                from include.warehouse.connection import airflow_conn_url

                c = Connection.get(FEEDS_CONN)
                base = base_url_of(c.conn_type, c.host, c.port, c.schema)
                return fetch_one(airflow_conn_url(LOADER_CONN), feed, base,
                                 dag_run_id=get_current_context()["run_id"])

            @task(task_id="signals")
            def signals(fetched: dict) -> dict:
                from include.external import signals as sig
                from include.warehouse.connection import airflow_conn_url

                return {**fetched, **getattr(sig, SIGNALS[feed])(airflow_conn_url(LOADER_CONN))}

            @task(task_id="publish", outlets=[Asset(uri)])
            def publish(result: dict) -> int:
                """Emit the feed's Asset event only when something new was loaded or scored."""
                from airflow.sdk.exceptions import AirflowSkipException

                changed = result.get("loaded", 0) + result.get("news_scored", 0) + result.get("leads_scored", 0)
                if not changed:
                    raise AirflowSkipException(f"nothing new in {feed}")
                return changed

            fetched = fetch()
            publish(signals(fetched) if feed in SIGNALS else fetched)

        groups[feed] = one_feed()
    for feed in SIGNALS:
        groups["registry"] >> groups[feed]


ingest_external()
