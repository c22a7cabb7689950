"""External feeds (issue #3 item 7): content, hidden labels, and the local HTTP server over real loopback."""

from __future__ import annotations

import csv
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from datetime import date
from types import SimpleNamespace
from urllib.parse import quote

import numpy as np
import pytest

from simulator import ids
from simulator.external import FEEDS, SPECS, FeedServer, build_feeds, from_world, synthetic_inputs
from simulator.external.clock import parse_ts
from simulator.external.faults import MALFORMED_KINDS

SEED = 11
HIDDEN_KEYS = {"tone", "label", "labels", "sentiment", "mentions", "entities", "is_illegal_fundraising_promo",
               "linked_uscc", "linked_id", "hard_case", "category", "scheme_id", "is_scheme", "deteriorating",
               "z", "health_z", "advertiser_form", "ambiguous"}


@pytest.fixture(scope="module")
def inputs():
    return synthetic_inputs(SEED, n_firms=600, n_institutions=20, n_months=12)


@pytest.fixture(scope="module")
def feeds(inputs):
    return build_feeds(inputs)


def get(url: str, timeout: float = 5.0) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def fetch_all(base: str, feed: str, *, since: str | None = None, page_size: int = 37) -> tuple[list[dict], int]:
    """Every item of ``feed`` following the cursors (server without faults); returns (items, pages)."""
    items, pages, cursor = [], 0, None
    while True:
        q = f"page_size={page_size}"
        if since:
            q += f"&updated_since={quote(since)}"
        if cursor:
            q += f"&cursor={cursor}"
        status, _, body = get(f"{base}/v1/{feed}?{q}")
        assert status == 200, body[:200]
        page = json.loads(body)
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages


def keys_of(feed: str, items: list[dict]) -> list[str]:
    return [r[SPECS[feed].key] for r in items]


# ---- feed content -----------------------------------------------------------------------------------

def test_feed_content_is_deterministic_per_seed(inputs, feeds):
    again = build_feeds(synthetic_inputs(SEED, n_firms=600, n_institutions=20, n_months=12))
    other = build_feeds(synthetic_inputs(SEED + 1, n_firms=600, n_institutions=20, n_months=12))
    assert again.versions == feeds.versions
    assert again.news_labels == feeds.news_labels and again.advert_labels == feeds.advert_labels
    assert other.versions["news"] != feeds.versions["news"]


def test_extending_months_keeps_earlier_months(inputs, feeds):
    longer = build_feeds(inputs, extra_months=2)
    cutoff = max(e[0] for e in feeds.versions["news"])
    for feed in ("news", "advert_leads", "registry_changes"):
        assert [e for e in longer.versions[feed] if e[0] <= cutoff] == feeds.versions[feed]
    assert len(longer.months) == len(feeds.months) + 2


def test_every_record_has_key_version_and_cst_timestamp(feeds):
    for feed, versions in feeds.versions.items():
        assert versions, feed
        for ts, key, rec in versions:
            assert rec[SPECS[feed].key] == key and isinstance(rec["version"], int) and rec["version"] >= 1
            assert rec["updated_at"].endswith("+08:00") and parse_ts(rec["updated_at"]) == ts
            assert list(rec) == list(SPECS[feed].fields), feed


def test_identifiers_are_valid_and_persons_masked(feeds, inputs):
    assert all(ids.is_valid_uscc(r["uscc"]) for _, _, r in feeds.versions["registry"])
    court = [r for _, _, r in feeds.versions["court_enforcement"]]
    assert {r["party_type"] for r in court} == {"企业", "自然人"}
    raw_ids = set(inputs.persons["resident_id"])
    for r in court:
        if r["party_type"] == "企业":
            assert ids.is_valid_uscc(r["party_id"])
        else:
            assert "********" in r["party_id"] and r["party_id"] not in raw_ids


def test_penalties_hit_institutions_and_individuals_more_when_health_is_low():
    x = synthetic_inputs(SEED, n_firms=200, n_institutions=80, n_months=24)
    pens = [r for _, _, r in build_feeds(x).versions["penalties"]]
    assert {"机构", "个人"} <= {r["party_type"] for r in pens}
    assert any("禁止" in r["penalty_kind"] for r in pens) and all(r["reasons"] for r in pens)
    # penalties per institution-quarter against health one quarter earlier
    qh = x.quarter_health.sort_values(["institution_code", "period"])
    keys = zip(qh["institution_code"], qh["period"].shift(-1), strict=True)
    lagged = dict(zip(keys, qh["z"], strict=True))
    counts = dict.fromkeys(lagged, 0)
    for r in pens:
        d = date.fromisoformat(r["decision_date"])
        q = date(d.year, 3 * ((d.month - 1) // 3) + 3, 31 if d.month > 9 or d.month < 4 else 30)
        if r["party_type"] == "机构" and (r["institution_code"], q) in counts:
            counts[(r["institution_code"], q)] += 1
    weak = [counts[k] for k, z in lagged.items() if z < -1.0]
    sound = [counts[k] for k, z in lagged.items() if z > 0.0]
    assert weak and sound and np.mean(weak) > 2 * np.mean(sound)


def test_scheme_firms_advertise_illegal_promises_and_legit_adverts_exist(feeds, inputs):
    labels = {r["lead_id"]: r for r in feeds.advert_labels}
    schemes = set(inputs.schemes["firm_uscc"])
    illegal = [r for _, k, r in feeds.versions["advert_leads"] if labels[k]["is_illegal_fundraising_promo"]]
    legit = [r for _, k, r in feeds.versions["advert_leads"] if not labels[k]["is_illegal_fundraising_promo"]]
    assert illegal and len(legit) > len(illegal) / 2
    linked = {labels[r["lead_id"]]["linked_id"] for r in illegal} - {""}
    assert linked and linked <= schemes
    promises = ("保本", "保 本", "高额回报", "月息", "稳赚", "零风险", "年化收益", "返息", "月x2分")  # incl. disguised
    assert sum(any(p in r["text"] for p in promises) for r in illegal) == len(illegal)
    assert {"variant", "short_name", "full_name"} <= {labels[r["lead_id"]]["advertiser_form"] for r in illegal}


def test_news_has_tones_hard_cases_and_ambiguous_mentions(feeds):
    texts = {k: r["text"] for _, k, r in feeds.versions["news"]}
    assert all(60 <= len(t) <= 300 for t in texts.values())
    assert {"negative", "neutral", "positive"} == {r["tone"] for r in feeds.news_labels}
    assert {"negation", "risk_word_other_sense", "industry_news"} <= {r["hard_case"] for r in feeds.news_labels}
    assert any(m["ambiguous"] for m in feeds.news_mentions)
    for m in feeds.news_mentions:  # offsets point at the surface in the served text
        assert texts[m["news_id"]][m["start"]:m["end"]] == m["surface"]


def test_negative_news_leads_scheme_collapse(feeds, inputs):
    labels = {r["news_id"]: r for r in feeds.news_labels}
    first_neg: dict[str, str] = {}
    for _, k, r in feeds.versions["news"]:
        if labels[k]["category"] in ("scheme_distress", "scheme_collapse"):
            for m in (m for m in feeds.news_mentions if m["news_id"] == k):
                first_neg.setdefault(m["entity_id"], r["published_at"][:7])
    collapse = {r.firm_uscc: r.collapse_month.isoformat()[:7] for r in inputs.schemes.itertuples()
                if r.collapse_month <= inputs.months[-1]}
    seen = [u for u in collapse if u in first_neg]
    assert seen and sum(first_neg[u] < collapse[u] for u in seen) >= len(seen) / 2


# ---- HTTP server ------------------------------------------------------------------------------------

def test_pagination_returns_every_record_exactly_once(feeds):
    with FeedServer(feeds) as srv:
        for feed in FEEDS:
            items, pages = fetch_all(srv.url, feed)
            keys = keys_of(feed, items)
            assert len(keys) == len(set(keys)) == len(srv.records(feed))
            assert pages == -(-len(keys) // 37)
            order = [(parse_ts(r["updated_at"]), r[SPECS[feed].key]) for r in items]
            assert order == sorted(order)


def test_updated_since_returns_only_newer_records(feeds):
    with FeedServer(feeds) as srv:
        all_items = srv.records("registry_changes")
        since = all_items[len(all_items) // 2]["updated_at"]
        items, _ = fetch_all(srv.url, "registry_changes", since=since)
        assert items and all(parse_ts(r["updated_at"]) > parse_ts(since) for r in items)
        assert len(items) == sum(parse_ts(r["updated_at"]) > parse_ts(since) for r in all_items)
        # an unencoded '+' (decoded to a space) is tolerated
        status, _, body = get(f"{srv.url}/v1/registry_changes?page_size=500&updated_since={since}")
        assert status == 200 and len(json.loads(body)["items"]) == min(500, len(items))


def test_incremental_fetch_after_advance_returns_exactly_new_and_changed(feeds, inputs):
    with FeedServer(feeds, published_through=inputs.months[-2]) as srv:
        before = {f: {r[SPECS[f].key]: r["version"] for r in fetch_all(srv.url, f)[0]} for f in FEEDS}
        watermark = srv.server_time
        changed = srv.advance(1)
        assert srv.published_through == inputs.months[-1]
        for feed in FEEDS:
            new, _ = fetch_all(srv.url, feed, since=watermark)
            expected = {r[SPECS[feed].key] for r in srv.records(feed)
                        if before[feed].get(r[SPECS[feed].key]) != r["version"]}
            assert set(keys_of(feed, new)) == expected and len(new) == changed[feed]
        assert changed["registry"] > 0 and changed["news"] > 0
        assert any(k in before["registry"] for k in keys_of("registry", fetch_all(srv.url, "registry",
                                                                                   since=watermark)[0]))


def test_advance_beyond_the_world_builds_new_months(inputs):
    fresh = build_feeds(inputs)
    with FeedServer(fresh) as srv:
        n0 = len(srv.records("news"))
        changed = srv.advance(1)
        assert changed["news"] > 0 and len(srv.records("news")) == n0 + changed["news"]
        assert srv.published_through > inputs.months[-1]


def test_pagination_is_stable_when_records_change_between_pages(feeds, inputs):
    with FeedServer(feeds, published_through=inputs.months[-2]) as srv:
        status, _, body = get(f"{srv.url}/v1/registry?page_size=200")
        first = json.loads(body)
        srv.advance(1)  # publishes new versions, some of records not yet fetched, some already fetched
        rest, _ = fetch_all(srv.url, "registry")  # fresh walk to know the truth
        cursor, seen = first["next_cursor"], {r["uscc"]: r["version"] for r in first["items"]}
        while cursor:
            page = json.loads(get(f"{srv.url}/v1/registry?page_size=200&cursor={cursor}")[2])
            seen.update({r["uscc"]: r["version"] for r in page["items"]})
            cursor = page["next_cursor"]
        assert seen == {r["uscc"]: r["version"] for r in rest}  # no gap, latest versions win


def test_429_carries_retry_after(feeds):
    with FeedServer(feeds, rate_limit=1.0, retry_after=3) as srv:
        status, headers, body = get(f"{srv.url}/v1/news")
        assert status == 429 and headers["Retry-After"] == "3" and "error" in json.loads(body)


def test_server_errors_happen_at_the_configured_rate_and_deterministically(feeds):
    def statuses(seed: int) -> list[int]:
        with FeedServer(feeds, seed=seed, fault_rate=0.2, rate_limit=0.1) as srv:
            return [get(f"{srv.url}/v1/penalties?page_size=5")[0] for _ in range(300)]

    a, b, c = statuses(1), statuses(1), statuses(2)
    assert a == b and a != c
    assert 0.13 < sum(s >= 500 for s in a) / len(a) < 0.27
    assert 0.05 < a.count(429) / len(a) < 0.16
    assert {500, 502, 503} <= set(a) and set(a) <= {200, 429, 500, 502, 503}


def test_slow_responses_exceed_a_client_timeout_at_the_configured_rate(feeds):
    with FeedServer(feeds, seed=5, slow_rate=0.25, slow_delay=0.4) as srv:
        planned = [srv.fault_for(n).delay > 0 for n in range(40)]
        timed_out = []
        for _ in range(40):
            try:
                get(f"{srv.url}/v1/news?page_size=1", timeout=0.15)
                timed_out.append(False)
            except (TimeoutError, urllib.error.URLError):
                timed_out.append(True)
        assert timed_out == planned and 4 <= sum(planned) <= 18
    # deterministic for the seed
    assert planned == [FeedServer(feeds, seed=5, slow_rate=0.25).fault_for(n).delay > 0 for n in range(40)]


def _malformed(feed: str, rec: dict) -> str | None:
    spec = SPECS[feed]
    if any(f not in rec for f in spec.mandatory):
        return "missing_mandatory_field"
    v = rec.get(spec.typed_field)
    if spec.typed_field in ("registered_capital", "amount", "amount_cny", "total_assets"):
        if v is not None and not isinstance(v, int | float):
            return "wrong_type"
    elif not isinstance(v, str):
        return "wrong_type"
    u = rec.get(spec.uscc_field) if spec.uscc_field else None
    if u and (feed != "court_enforcement" or rec["party_type"] == "企业") and not ids.is_valid_uscc(u):
        return "bad_uscc_check_char"
    return None


def test_malformed_records_appear_at_the_rate_and_are_in_the_ground_truth(feeds, tmp_path):
    with FeedServer(feeds, malformed_rate=0.05, seed=3) as srv:
        served = {f: fetch_all(srv.url, f, page_size=500)[0] for f in FEEDS}
        srv.write_ground_truth(tmp_path)
    with open(tmp_path / "external_malformed.csv", encoding="utf-8") as fh:
        truth = {(r["feed"], r["key"], int(r["version"])): r["kind"] for r in csv.DictReader(fh)}
    total = bad = 0
    kinds = set()
    for feed, items in served.items():
        for r in items:
            key = (feed, r[SPECS[feed].key], r["version"])
            total += 1
            if key in truth:
                bad += 1
                kinds.add(truth[key])
            detected = _malformed(feed, r)
            if detected:  # everything detectable is recorded, with the right kind
                assert truth.get(key) == detected, key
    assert 0.035 < bad / total < 0.065
    assert kinds == set(MALFORMED_KINDS)


def test_schema_version_2_renames_a_field(feeds):
    with FeedServer(feeds, schema_version={"penalties": 2}) as srv:
        item = json.loads(get(f"{srv.url}/v1/penalties?page_size=1")[2])["items"][0]
        assert "amount" in item and "amount_cny" not in item
        listing = {f["name"]: f for f in json.loads(get(f"{srv.url}/v1/feeds")[2])["feeds"]}
        assert listing["penalties"]["schema_version"] == 2 and "amount" in listing["penalties"]["fields"]
        assert "text" in json.loads(get(f"{srv.url}/v1/news?page_size=1")[2])["items"][0]
        srv.set_schema_version(2, feed="news")  # the feed changes shape while running
        item = json.loads(get(f"{srv.url}/v1/news?page_size=1")[2])["items"][0]
        assert "content" in item and "text" not in item


def _keys(obj) -> set[str]:
    if isinstance(obj, dict):
        return set(obj) | set().union(*(_keys(v) for v in obj.values()))
    if isinstance(obj, list):
        return set().union(*(_keys(v) for v in obj)) if obj else set()
    return set()


def test_hidden_labels_never_appear_in_served_json(feeds):
    with FeedServer(feeds, malformed_rate=0.05) as srv:
        for feed in FEEDS:
            items, _ = fetch_all(srv.url, feed, page_size=500)
            assert not _keys(items) & HIDDEN_KEYS, feed
            blob = json.dumps(items, ensure_ascii=False)
            assert "negative" not in blob and "positive" not in blob and "SCH0" not in blob


def test_server_binds_only_loopback(feeds):
    with FeedServer(feeds) as srv:
        assert srv.server_address[0] == "127.0.0.1" and srv.url.startswith("http://127.0.0.1:")
        others = set()
        try:
            others = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
        except OSError:
            pass
        for addr in others - {"127.0.0.1"}:
            if addr.startswith("127."):
                continue
            with pytest.raises(OSError):
                socket.create_connection((addr, srv.port), timeout=1).close()


def test_server_stops_cleanly(feeds):
    srv = FeedServer(feeds, slow_rate=1.0, slow_delay=30)
    srv.start()
    port = srv.port
    outcome: list[object] = []

    def stuck() -> None:
        try:
            outcome.append(get(f"http://127.0.0.1:{port}/v1/news", timeout=60)[0])
        except OSError as e:  # the server dropped the slow response on shutdown
            outcome.append(e)

    t = threading.Thread(target=stuck)
    t.start()  # a request stuck in a 30 s slow response
    time.sleep(0.2)
    t0 = time.perf_counter()
    srv.stop()
    t.join(5)
    assert time.perf_counter() - t0 < 3 and not t.is_alive() and not srv.running
    assert len(outcome) == 1 and isinstance(outcome[0], OSError)
    assert not [th for th in threading.enumerate() if th.name.startswith("feed-server")]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_bad_requests_get_4xx(feeds):
    with FeedServer(feeds) as srv:
        assert get(f"{srv.url}/v1/nope")[0] == 404
        assert get(f"{srv.url}/v1/news?page_size=abc")[0] == 400
        assert get(f"{srv.url}/v1/news?updated_since=yesterday")[0] == 400
        assert get(f"{srv.url}/v1/news?cursor=%%%")[0] == 400
        page = json.loads(get(f"{srv.url}/v1/news?page_size=100000")[2])
        assert len(page["items"]) == srv.page_size_max or page["next_cursor"] is None


def test_write_files_matches_served_records(feeds, tmp_path):
    with FeedServer(feeds, malformed_rate=0.05) as srv:
        srv.write_files(tmp_path)
        for feed in FEEDS:
            lines = (tmp_path / f"{feed}.jsonl").read_text(encoding="utf-8").splitlines()
            assert [json.loads(x) for x in lines] == fetch_all(srv.url, feed, page_size=500)[0]
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["feeds"]) == set(FEEDS)


def test_ground_truth_files_hold_the_hidden_labels(feeds, tmp_path):
    written = feeds.write_ground_truth(tmp_path)
    names = {p.name for p in written}
    assert {"external_news_labels.csv", "external_news_mentions.csv", "external_advert_labels.csv",
            "external_feeds.json"} <= names
    with open(tmp_path / "external_news_labels.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(feeds.versions["news"]) and {r["tone"] for r in rows} == {"negative", "neutral",
                                                                                       "positive"}


# ---- adapters and speed -----------------------------------------------------------------------------

def test_from_world_names_what_is_missing():
    with pytest.raises(AttributeError, match="firms"):
        from_world(SimpleNamespace(universe=None, health=None, seed=1))


def test_from_world_adapts_a_world_with_the_entities(inputs):
    from simulator.health import HealthPanel

    qh = inputs.quarter_health
    codes = list(dict.fromkeys(qh["institution_code"]))
    periods = sorted(set(qh["period"]))
    z = qh.pivot(index="institution_code", columns="period", values="z").loc[codes, periods].to_numpy()
    det = qh.groupby("institution_code")["deteriorating"].first().loc[codes].to_numpy()
    world = SimpleNamespace(universe=SimpleNamespace(institutions=inputs.institutions), firms=inputs.firms,
                            persons=inputs.persons, schemes=inputs.schemes,
                            health=HealthPanel(codes=codes, periods=periods, z=z, deteriorating=det),
                            months=inputs.months, seed=SEED, frames={})
    adapted = from_world(world)
    assert adapted.months == inputs.months and len(adapted.quarter_health) == len(qh)
    assert build_feeds(adapted).versions["penalties"] == build_feeds(inputs).versions["penalties"]


def test_a_simulated_worlds_schemes_reach_the_feeds_at_their_own_months():
    """The core keeps scheme months as indices; the feeds must see the same months (not 1970), so the
    scheme firms advertise and are in the news while their schemes run."""
    from simulator import build_world

    world = build_world("tiny", 7)
    adapted = from_world(world)
    months = list(world.months)
    for raw, s in zip(world.schemes.itertuples(), adapted.schemes.itertuples(), strict=True):
        if 0 <= raw.start_month < len(months):
            assert s.start_month == months[raw.start_month]
        assert (s.collapse_month is None) == (raw.collapse_month < 0)
        if raw.collapse_month >= 0:
            assert s.collapse_month == months[raw.collapse_month]
    feeds = build_feeds(adapted)
    schemes = set(adapted.schemes["firm_uscc"])
    advertised = {r["linked_id"] for r in feeds.advert_labels if r["is_illegal_fundraising_promo"]}
    in_news = {m["entity_id"] for m in feeds.news_mentions}
    assert advertised & schemes and in_news & schemes


def test_small_scale_feeds_build():
    """The `small` preset's scale (its build time is measured by the simulator run, not asserted here)."""
    big = synthetic_inputs(7, n_firms=5000, n_institutions=80, n_months=24)
    srv = FeedServer(big, malformed_rate=0.01)
    assert len(srv.records("registry")) == 5000


def test_inputs_have_valid_ids_and_months(inputs):
    assert all(ids.is_valid_uscc(u) for u in inputs.firms["uscc"])
    assert all(ids.is_valid_resident_id(r) for r in inputs.persons["resident_id"])
    assert inputs.months[-1] == date(2025, 12, 31) and len(inputs.months) == 12
    assert inputs.firms["short_name"].duplicated().any()  # ambiguous short names exist


def test_registry_serves_dates_as_dates_when_the_world_holds_timestamps(inputs):
    """The core world's firms carry pandas Timestamps (a datetime subclass): the registry must still
    serve ``founded_date`` as YYYY-MM-DD, as its schema says, not as a midnight datetime."""
    import dataclasses

    import pandas as pd

    firms = inputs.firms.assign(founded_date=pd.to_datetime(inputs.firms["founded_date"]))
    served = build_feeds(dataclasses.replace(inputs, firms=firms)).versions["registry"]
    dates = {rec["founded_date"] for _, _, rec in served}
    assert dates and all(len(d) == 10 and date.fromisoformat(d) for d in dates)
