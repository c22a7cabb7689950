"""External feed extraction against the simulator's HTTP server: faults, watermarks, reruns, shape change."""

from __future__ import annotations

import pytest

from include.external.client import FeedClient, FeedShapeError, FeedUnavailable
from include.external.load import fetch_feed
from include.registry.feeds import FEEDS
from simulator.external import FeedServer, build_feeds, synthetic_inputs
from simulator.external.clock import parse_ts

SEED = 21


@pytest.fixture(scope="module")
def inputs():
    return synthetic_inputs(SEED, n_firms=300, n_institutions=12, n_months=6)


@pytest.fixture(scope="module")
def feeds(inputs):
    return build_feeds(inputs)


@pytest.fixture
def loader_url(warehouse):
    """The loader's URL on a clean slate of external tables."""
    tables = [t for f in FEEDS.values() for t in (f.table, f.history_table)]
    with warehouse.connect(autocommit=True) as c:
        c.execute(f"truncate {', '.join(tables)}, raw_ext.news_entity_link, raw_ext.news_tone, "
                  "raw_ext.advert_lead_flag, quarantine.ext_record, ops.ext_watermark, ops.ext_fetch")
    return warehouse.role_url("loader")


def client(srv: FeedServer, **kw) -> FeedClient:
    waits: list[float] = []
    c = FeedClient(srv.url, sleep=waits.append, **{"page_size": 40, "timeout": 2.0, **kw})
    c.slept = waits  # type: ignore[attr-defined]
    return c


def stored(warehouse, feed: str) -> dict[str, int]:
    f = FEEDS[feed]
    with warehouse.connect() as c:
        return dict(c.execute(f"select {f.key}, version from {f.table}").fetchall())


def quarantined(warehouse, feed: str) -> set[tuple[str, int]]:
    with warehouse.connect() as c:
        return set(c.execute("select natural_key, version from quarantine.ext_record where feed = %s",
                             (feed,)).fetchall())


def watermark(warehouse, feed: str):
    with warehouse.connect() as c:
        row = c.execute("select watermark from ops.ext_watermark where feed = %s", (feed,)).fetchone()
    return row[0] if row else None


def assert_complete(warehouse, srv: FeedServer, feed: str) -> None:
    """Every published record is in raw_ext at its published version, or (malformed) in quarantine."""
    key = FEEDS[feed].key
    bad = {(m["key"], m["version"]) for m in srv.malformed_plan() if m["feed"] == feed}
    published = {r[key]: r["version"] for r in srv.records(feed)}
    good = {k: v for k, v in published.items() if (k, v) not in bad}
    have = stored(warehouse, feed)
    assert {k: have.get(k) for k in good} == good  # no gap, latest versions
    assert set(have) - set(published) == set()
    assert {(k, v) for k, v in published.items() if (k, v) in bad} <= quarantined(warehouse, feed)


def assert_watermark_not_ahead(warehouse, srv: FeedServer, feed: str) -> None:
    wm = watermark(warehouse, feed)
    if wm is None:
        return
    key = FEEDS[feed].key
    have, bad = stored(warehouse, feed), quarantined(warehouse, feed)
    for r in srv.records(feed):
        if parse_ts(r["updated_at"]) <= wm.timestamp():
            assert have.get(r[key]) == r["version"] or (r[key], r["version"]) in bad, (r[key], wm)


def test_full_fetch_loads_every_record_with_lineage(warehouse, loader_url, feeds):
    with FeedServer(feeds) as srv, client(srv) as cl:
        for feed in FEEDS:
            res = fetch_feed(loader_url, feed, cl)
            assert res.records == len(srv.records(feed)) == res.loaded
            assert_complete(warehouse, srv, feed)
            last = max(parse_ts(r["updated_at"]) for r in srv.records(feed))
            assert watermark(warehouse, feed).timestamp() == last
    with warehouse.connect() as c:
        row = c.execute("select n.fetch_id, n.request_no, n.page_no, n.record_index, n.record ->> 'news_id', "
                        "n.news_id, f.status from raw_ext.news n join ops.ext_fetch f using (fetch_id) "
                        "order by n.page_no desc, n.record_index desc limit 1").fetchone()
        assert row[2] > 1 and row[4] == row[5] and row[6] == "committed"
        assert c.execute("select count(*) from raw_ext.registry_history").fetchone()[0] == len(srv.records("registry"))


def test_no_person_name_or_id_reaches_raw_ext_or_quarantine(warehouse, loader_url, feeds, inputs):
    """Legal representatives, individual shareholders, individual court parties and penalised persons
    are tokenised at load (values, the lineage copy of the record, history and quarantine alike)."""
    with FeedServer(feeds, malformed_rate=0.05, seed=3) as srv, client(srv) as cl:
        for feed in FEEDS:
            fetch_feed(loader_url, feed, cl)
    people = set(inputs.persons["name"]) | set(inputs.persons["resident_id"])
    tables = [t for f in FEEDS.values() for t in (f.table, f.history_table)] + ["quarantine.ext_record"]
    with warehouse.connect() as c:
        leaked, tokens = set(), 0
        for t in tables:
            for (v,) in c.execute(f"select s from {t} x, lateral jsonb_path_query(to_jsonb(x), "
                                  "'strict $.**') j(s) where jsonb_typeof(j.s) = 'string'"):
                leaked |= {v} & people
                tokens += v.startswith("tk_")
        individuals = c.execute("select count(*) from raw_ext.penalties where party_type = '个人' "
                                "and party_name like 'tk\\_%'").fetchone()[0]
    assert not leaked, sorted(leaked)[:5]
    assert tokens > 0 and individuals > 0


def test_faults_and_malformed_records_leave_no_gap_and_no_duplicate(warehouse, loader_url, feeds, inputs):
    opts = dict(seed=5, rate_limit=0.15, retry_after=2, fault_rate=0.15, slow_rate=0.25, slow_delay=1.0,
                malformed_rate=0.06)
    with (FeedServer(feeds, published_through=inputs.months[-3], **opts) as srv,
          client(srv, timeout=0.4, page_size=20) as cl):
        for feed in FEEDS:
            fetch_feed(loader_url, feed, cl)
        assert {429, 500, 502, 503} <= set(srv.stats)  # every kind of fault happened
        causes = {cause for cause, _ in cl.waits}
        assert {"429", "timeout"} <= causes
        assert all(s == 2.0 for cause, s in cl.waits if cause == "429")  # Retry-After honoured
        srv.advance(2)  # new and changed records
        for feed in FEEDS:
            fetch_feed(loader_url, feed, cl)
            fetch_feed(loader_url, feed, cl)  # the same window again: nothing new
            assert_complete(warehouse, srv, feed)
            assert_watermark_not_ahead(warehouse, srv, feed)
        assert quarantined(warehouse, "registry")
    with warehouse.connect() as c:
        # changed records keep their history: more versions than keys, one row per (key, version)
        n_hist, n_keys = c.execute("select count(*), count(distinct uscc) from raw_ext.registry_history").fetchone()
        assert n_hist > n_keys
        reason = c.execute("select reason from quarantine.ext_record limit 1").fetchone()[0]
        assert "page" in reason and "record" in reason and "rule" in reason
        last = c.execute("select loaded, unchanged from ops.ext_fetch where feed = 'news' and status = 'committed' "
                         "order by fetch_id desc limit 1").fetchone()
        assert last == (0, 0)  # the last re-fetch found nothing newer than its watermark


def test_crash_mid_batch_commits_nothing_and_rerun_completes(warehouse, loader_url, feeds):
    class Boom(RuntimeError):
        pass

    def crash_on_page(n):
        def hook(page):
            if page.page_no == n:
                raise Boom(f"killed on page {n}")
        return hook

    with FeedServer(feeds, malformed_rate=0.05) as srv, client(srv, page_size=25) as cl:
        with pytest.raises(Boom):
            fetch_feed(loader_url, "registry", cl, after_page=crash_on_page(4))
        assert stored(warehouse, "registry") == {} and watermark(warehouse, "registry") is None
        assert quarantined(warehouse, "registry") == set()
        # batches of 2 pages: a crash in the third batch keeps the first two, watermark behind them
        calls = {"n": 0}

        def third_batch(page):
            calls["n"] += 1
            if calls["n"] == 5:
                raise Boom("killed in batch 3")

        with pytest.raises(Boom):
            fetch_feed(loader_url, "registry", cl, max_pages=2, after_page=third_batch)
        n_partial = len(stored(warehouse, "registry")) + len(quarantined(warehouse, "registry"))
        assert 0 < n_partial <= 4 * 25
        assert_watermark_not_ahead(warehouse, srv, "registry")
        res = fetch_feed(loader_url, "registry", cl)
        assert_complete(warehouse, srv, "registry")
        assert res.loaded + res.unchanged + res.quarantined == res.records
        with warehouse.connect() as c:
            failed = c.execute("select count(*), min(error) from ops.ext_fetch where feed = 'registry' "
                               "and status = 'failed'").fetchone()
        assert failed[0] == 2 and "Boom" in failed[1]


def test_shape_change_mid_fetch_fails_with_a_clear_message_and_loads_nothing(warehouse, loader_url, feeds):
    with FeedServer(feeds) as srv, client(srv, page_size=5) as cl:
        def switch(page):
            if page.page_no == 1:
                srv.set_schema_version(2, feed="penalties")

        with pytest.raises(FeedShapeError) as e:
            fetch_feed(loader_url, "penalties", cl, after_page=switch)
        msg = str(e.value)
        assert "'penalties' page 2" in msg and "'amount'" in msg and "amount_cny" in msg
        assert stored(warehouse, "penalties") == {} and watermark(warehouse, "penalties") is None
        with pytest.raises(FeedShapeError):  # and again on a rerun: the registry must be updated first
            fetch_feed(loader_url, "penalties", cl)
        srv.set_schema_version(1, feed="penalties")
        fetch_feed(loader_url, "penalties", cl)
        assert_complete(warehouse, srv, "penalties")


def test_a_feed_that_stays_down_fails_naming_feed_and_page(warehouse, loader_url, feeds):
    with FeedServer(feeds, fault_rate=1.0) as srv, client(srv, max_attempts=3) as cl:
        with pytest.raises(FeedUnavailable, match=r"feed 'news' page 1: gave up after 3 attempts \(last: HTTP 5"):
            fetch_feed(loader_url, "news", cl)
        assert len(cl.waits) == 2
    with warehouse.connect() as c:
        assert c.execute("select status, requests from ops.ext_fetch").fetchall() == [("failed", 3)]
    assert stored(warehouse, "news") == {}


def test_signals_are_derived_once_per_record_version(warehouse, loader_url, feeds, inputs):
    part = "raw.institution_p_ext_test"
    with warehouse.connect(autocommit=True) as c:  # institutions as the submissions pipeline would load them
        c.execute(f"create table if not exists {part} partition of raw.institution for values in ('2099-12-31')")
        with c.cursor() as cur:
            cur.executemany("insert into raw.institution (institution_code, report_period, name, _batch_id, "
                            "_file_sha256, _line) values (%s, '2099-12-31', %s, 0, 'test', %s)",
                            [(code, name, i) for i, (code, name) in enumerate(
                                zip(inputs.institutions["institution_code"], inputs.institutions["name"],
                                    strict=True))])
    try:
        from include.external.signals import derive_advert_signals, derive_news_signals

        with FeedServer(feeds, published_through=inputs.months[-2]) as srv, client(srv) as cl:
            for feed in ("registry", "news", "advert_leads"):
                fetch_feed(loader_url, feed, cl)
            first = derive_news_signals(loader_url)
            assert first["news_scored"] == len(srv.records("news")) and first["links"] > 0 and first["negative"] > 0
            assert derive_news_signals(loader_url)["news_scored"] == 0  # nothing new: nothing rescored
            ads = derive_advert_signals(loader_url)
            assert ads["leads_scored"] == len(srv.records("advert_leads")) and ads["linked"] and ads["flagged"]
            srv.advance(1)
            fetch_feed(loader_url, "news", cl)
            again = derive_news_signals(loader_url)
            assert 0 < again["news_scored"] < first["news_scored"]
        with warehouse.connect() as c:
            assert c.execute("select count(*) from raw_ext.news n left join raw_ext.news_tone t using (news_id) "
                             "where t.news_version is distinct from n.version").fetchone()[0] == 0
            assert c.execute("select count(*) from raw_ext.news_entity_link where entity_type = 'institution'"
                             ).fetchone()[0] > 0
            row = c.execute("select matched_phrases -> 0 ->> 'phrase', linked_entity_id from raw_ext.advert_lead_flag "
                            "where illegal_promo and linked_entity_type = 'firm' limit 1").fetchone()
            assert row[0] and row[1]
        with warehouse.connect(role="bi_reader") as c:  # least privilege: supervisors' BI role sees no raw_ext
            with pytest.raises(Exception, match="permission denied"):
                c.execute("select 1 from raw_ext.news_tone limit 1")
    finally:
        with warehouse.connect(autocommit=True) as c:
            c.execute(f"drop table if exists {part}")


def test_person_lists_with_empty_items_are_tokenised_item_by_item():
    """A shareholder change listing persons and firms, served with a doubled and a trailing separator
    (seen in the small/13 world: it crashed the loader): persons become tokens, firms and empty items stay."""
    from include.privacy.records import pseudonymise_record

    key = b"k" * 32
    rec = {"change_type": "股东变更", "before": "张三；；某某科技有限公司；", "after": "李四"}
    out = pseudonymise_record("registry_changes", rec, key)
    parts = out["before"].split("；")
    assert parts[0].startswith("tk_") and parts[1] == "" and parts[2] == "某某科技有限公司" and parts[3] == ""
    assert out["after"].startswith("tk_") and "张三" not in out["before"]
