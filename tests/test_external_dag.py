"""The ingest_external DAG: conventions, Assets, and one real run (dag.test()) against the feed server."""

from __future__ import annotations

import os

import pytest
from test_external_load import loader_url as _clean_external_tables  # noqa: F401  (a fixture)

from include.assets import RAW_EXT_ASSET_URIS
from include.registry.feeds import FEEDS
from simulator.external import FeedServer, synthetic_inputs


def test_one_task_group_per_feed_and_an_asset_each(airflow_dagbag):
    dag = airflow_dagbag.dags["ingest_external"]
    ids = {t.task_id for t in dag.tasks}
    for feed in FEEDS:
        assert {f"{feed}.fetch", f"{feed}.publish"} <= ids
    assert {"news.signals", "advert_leads.signals"} <= ids
    emitted = {o.uri for t in dag.tasks for o in t.outlets}
    assert emitted == set(RAW_EXT_ASSET_URIS.values())
    for feed in ("news", "advert_leads"):  # their entity dictionary comes from the registry
        assert dag.get_task(f"{feed}.fetch").upstream_task_ids == {"registry.publish"}


def test_build_warehouse_listens_to_the_external_assets(airflow_dagbag):
    build = airflow_dagbag.dags["build_warehouse"]

    def uris(cond) -> set[str]:
        return {cond.uri} if hasattr(cond, "uri") else set().union(*(uris(c) for c in cond.objects))

    assert set(RAW_EXT_ASSET_URIS.values()) <= uris(build.timetable.asset_condition)


@pytest.mark.usefixtures("_clean_external_tables")
def test_dag_run_loads_every_feed_through_airflow(airflow_dagbag, warehouse):
    feeds = synthetic_inputs(5, n_firms=200, n_institutions=10, n_months=3)
    with FeedServer(feeds, rate_limit=0.05, retry_after=1, malformed_rate=0.02) as srv:
        os.environ["AIRFLOW_CONN_EXTERNAL_FEEDS"] = srv.url
        try:
            dr = airflow_dagbag.dags["ingest_external"].test()
            again = airflow_dagbag.dags["ingest_external"].test()  # nothing new: publish skipped, feeds still fetched
        finally:
            os.environ.pop("AIRFLOW_CONN_EXTERNAL_FEEDS", None)
        assert "success" in str(dr.state)
        with warehouse.connect() as c:
            for feed, f in FEEDS.items():
                n = c.execute(f"select count(*) from {f.table}").fetchone()[0]
                bad = c.execute("select count(*) from quarantine.ext_record where feed = %s", (feed,)).fetchone()[0]
                assert n + bad >= len(srv.records(feed)) > 0, feed
            assert c.execute("select count(*) from raw_ext.news_tone").fetchone()[0] > 0
            assert c.execute("select count(distinct dag_run_id) from ops.ext_fetch where dag_run_id = %s",
                             (dr.run_id,)).fetchone()[0] == 1
            second = dict(c.execute("select feed, loaded from ops.ext_fetch where dag_run_id = %s and "
                                    "status = 'committed'", (again.run_id,)).fetchall())
        assert "success" in str(again.state)
        assert second == dict.fromkeys(FEEDS, 0)  # every feed fetched again (news after a skipped registry)
