"""Fetch one feed incrementally into ``raw_ext``: the batch and its watermark commit together.

:func:`fetch_feed` reads the feed's watermark (``ops.ext_watermark``), asks for ``updated_since`` =
watermark, follows the cursors page by page, screens each page (:mod:`include.external.gate`) and
writes, **in one transaction per batch**:

* accepted records: ``raw_ext.<feed>_history`` (every version, ``on conflict (key, version) do nothing``)
  and ``raw_ext.<feed>`` (upsert on the natural key, only when the fetched version is newer), each row
  with its lineage (fetch, request, page, record index, fetch time, the record as served);
* rejected records: ``quarantine.ext_record`` with rule, field and reason (once per record sha256);
* the new watermark and the fetch's counts (``ops.ext_fetch``).

Batches of one feed are serialised by an advisory lock (the watermark is re-read under it), so two
runs at once cannot move a watermark backwards. A crash, a timeout that outlasts the retries, or a
shape change anywhere in the batch rolls all of it back; the fetch is then marked ``failed`` with its
error in a separate transaction and the exception propagates. The watermark therefore never passes
data that is not committed, and a rerun starts again from the last committed watermark; re-fetched
versions are no-ops (no duplicates).

Watermark: the largest ``updated_at`` received when the batch reaches the last page. With
``max_pages`` a long window is split into several batches; a batch cut before the last page commits
the watermark ``last updated_at - 1 s`` (the server keeps ``updated_at > since`` and records sharing the
last timestamp may sit on the next page), so a record is at worst fetched twice, never skipped.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import psycopg
from psycopg import sql

from include.external.client import FeedClient, Page
from include.external.gate import Screened, check_shape, screen, typed_value
from include.privacy.pseudonymise import load_key
from include.privacy.records import changed_fields, pseudonymise_record
from include.registry.feeds import FEEDS, Feed
from include.warehouse.connection import libpq_url

log = logging.getLogger(__name__)


@dataclass
class FetchResult:
    feed: str
    fetch_ids: list[int] = field(default_factory=list)
    batches: int = 0
    pages: int = 0
    records: int = 0
    loaded: int = 0
    unchanged: int = 0
    quarantined: int = 0
    requests: int = 0
    retries: int = 0
    watermark: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def get_watermark(conn: psycopg.Connection, feed: str) -> datetime | None:
    row = conn.execute("select watermark from ops.ext_watermark where feed = %s", (feed,)).fetchone()
    return row[0] if row else None


def _start_fetch(url: str, feed: str, base_url: str, since: datetime | None, dag_run_id: str | None) -> int:
    with psycopg.connect(libpq_url(url), autocommit=True) as c:
        return c.execute("insert into ops.ext_fetch (feed, base_url, updated_since, status, dag_run_id) "
                         "values (%s, %s, %s, 'running', %s) returning fetch_id",
                         (feed, base_url, since, dag_run_id)).fetchone()[0]


def _fail_fetch(url: str, fetch_id: int, error: str, requests: int, retries: int) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as c:
        c.execute("update ops.ext_fetch set status = 'failed', error = %s, requests = %s, retries = %s, "
                  "finished_at = clock_timestamp() where fetch_id = %s", (error[:4000], requests, retries, fetch_id))


def _insert_sql(feed: Feed, table: str, conflict: sql.Composable) -> sql.Composed:
    cols = [*feed.field_names, "fetch_id", "request_no", "page_no", "record_index", "fetched_at", "record_sha256",
            "record"]
    return sql.SQL("insert into {t} ({c}) values ({v}) {conflict}").format(
        t=sql.SQL(table), c=sql.SQL(", ").join(map(sql.Identifier, cols)),
        v=sql.SQL(", ").join(sql.Placeholder(c) for c in cols), conflict=conflict)


def _upsert_sql(feed: Feed) -> sql.Composed:
    cols = [*feed.field_names, "fetch_id", "request_no", "page_no", "record_index", "fetched_at", "record_sha256",
            "record"]
    updates = sql.SQL(", ").join(sql.SQL("{c} = excluded.{c}").format(c=sql.Identifier(c))
                                 for c in cols if c != feed.key)
    conflict = sql.SQL("on conflict ({k}) do update set {u} where {t}.version < excluded.version").format(
        k=sql.Identifier(feed.key), u=updates, t=sql.SQL(feed.table))
    return _insert_sql(feed, feed.table, conflict)


def _history_sql(feed: Feed) -> sql.Composed:
    conflict = sql.SQL("on conflict ({k}, version) do nothing returning 1").format(k=sql.Identifier(feed.key))
    return _insert_sql(feed, feed.history_table, conflict)


_QUARANTINE_SQL = """
insert into quarantine.ext_record (feed, natural_key, version, record_sha256, rule, field, reason, record,
                                   fetch_id, request_no, page_no, record_index, fetched_at)
values (%(feed)s, %(key)s, %(version)s, %(sha)s, %(rule)s, %(field)s, %(reason)s, %(record)s, %(fetch_id)s,
        %(request_no)s, %(page_no)s, %(record_index)s, %(fetched_at)s)
on conflict (feed, record_sha256) do nothing
"""


def _write_page(conn: psycopg.Connection, feed: Feed, page: Page, screened: list[Screened], fetch_id: int,
                fetched_at: datetime) -> tuple[int, int, int]:
    """Write one screened page inside the batch transaction; returns (loaded, unchanged, quarantined)."""
    key = load_key()
    for s in screened:  # no personal identifier is written anywhere: values, lineage record, quarantine
        record = pseudonymise_record(feed.name, s.record, key)
        if s.values is not None:
            for name in changed_fields(s.record, record):
                if name in s.values:
                    s.values[name] = typed_value(feed.column(name).pg_type, record[name])
        s.record = record
    good = [s for s in screened if s.accepted]
    bad = [s for s in screened if not s.accepted]
    lineage = {"fetch_id": fetch_id, "request_no": page.request_no, "page_no": page.page_no,
               "fetched_at": fetched_at}
    rows = [{**s.values, **lineage, "record_index": s.index, "record_sha256": s.sha256,
             "record": psycopg.types.json.Jsonb(s.record)} for s in good]
    loaded = 0
    if rows:
        with conn.cursor() as cur:
            cur.executemany(_history_sql(feed), rows, returning=True)
            while True:
                loaded += len(cur.fetchall())
                if not cur.nextset():
                    break
            cur.executemany(_upsert_sql(feed), rows)
    if bad:
        with conn.cursor() as cur:
            cur.executemany(_QUARANTINE_SQL, [
                {"feed": feed.name, "key": s.key, "version": s.version, "sha": s.sha256, "rule": s.rule,
                 "field": s.field, "reason": s.reason, "record": psycopg.types.json.Jsonb(s.record),
                 "record_index": s.index, **lineage} for s in bad])
        for s in bad:
            log.warning("quarantined: %s", s.reason)
    return loaded, len(good) - loaded, len(bad)


def _max_updated_at(screened: list[Screened]) -> datetime | None:
    best = None
    for s in screened:
        v = s.values["updated_at"] if s.accepted else _parse_ts(s.record.get("updated_at"))
        if v is not None and (best is None or v > best):
            best = v
    return best


def _parse_ts(v: object) -> datetime | None:
    try:
        return typed_value("timestamptz", v) if v is not None else None
    except ValueError:
        return None


def fetch_feed(url: str, feed_name: str, client: FeedClient, *, dag_run_id: str | None = None,
               max_pages: int | None = None, after_page=None) -> FetchResult:
    """Fetch ``feed_name`` from its watermark to the end, in batches of at most ``max_pages`` pages.

    ``url``: the warehouse URL of the ``loader`` role. ``after_page(page)`` is called after each page is
    written (inside the open transaction): a hook for tests and progress reporting.
    """
    feed = FEEDS[feed_name]
    result = FetchResult(feed_name)
    with psycopg.connect(libpq_url(url)) as conn:
        while True:
            since = get_watermark(conn, feed_name)
            conn.rollback()
            fetch_id = _start_fetch(url, feed_name, client.base_url, since, dag_run_id)
            result.fetch_ids.append(fetch_id)
            req0, retry0 = client.requests, client.retries
            try:
                done, wm = _one_batch(conn, feed, client, fetch_id, since, max_pages, result, after_page)
            except BaseException as e:
                conn.rollback()
                _fail_fetch(url, fetch_id, f"{type(e).__name__}: {e}", client.requests - req0,
                            client.retries - retry0)
                raise
            result.batches += 1
            result.watermark = wm.isoformat() if wm else result.watermark
            if done:
                break
    result.requests, result.retries = client.requests, client.retries
    log.info("feed %s: %s", feed_name, result.as_dict())
    return result


def _one_batch(conn: psycopg.Connection, feed: Feed, client: FeedClient, fetch_id: int, since: datetime | None,
               max_pages: int | None, result: FetchResult, after_page) -> tuple[bool, datetime | None]:
    """One transaction: pages from ``since`` until the last page (or ``max_pages``). Returns (finished,
    watermark committed)."""
    req0, retry0 = client.requests, client.retries
    cursor = None
    pages = records = loaded = unchanged = quarantined = 0
    last_ts = None
    finished = False
    with conn.transaction():
        # one fetcher per feed at a time; re-read the watermark under the lock (another may have advanced it)
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"ext_fetch:{feed.name}",))
        since = get_watermark(conn, feed.name)
        while True:
            page = client.get_page(feed.name, page_no=pages + 1, updated_since=since.isoformat() if since else None,
                                   cursor=cursor)
            fetched_at = datetime.now().astimezone()
            check_shape(feed, page)
            screened = screen(conn, feed, page)
            lo, un, qu = _write_page(conn, feed, page, screened, fetch_id, fetched_at)
            pages, records = pages + 1, records + len(page.items)
            loaded, unchanged, quarantined = loaded + lo, unchanged + un, quarantined + qu
            page_max = _max_updated_at(screened)
            if page_max is not None:
                last_ts = page_max if last_ts is None else max(last_ts, page_max)
            if after_page is not None:
                after_page(page)
            cursor = page.next_cursor
            if cursor is None:
                finished = True
                watermark = last_ts or since
                break
            # cut the batch here only if the watermark strictly advances
            if max_pages and pages >= max_pages and last_ts is not None and (
                    since is None or last_ts - timedelta(seconds=1) > since):
                watermark = last_ts - timedelta(seconds=1)
                break
        if watermark is not None and watermark != since:
            conn.execute("insert into ops.ext_watermark (feed, watermark, fetch_id) values (%s, %s, %s) "
                         "on conflict (feed) do update set watermark = excluded.watermark, "
                         "fetch_id = excluded.fetch_id, advanced_at = now()", (feed.name, watermark, fetch_id))
        conn.execute("update ops.ext_fetch set status = 'committed', updated_since = %s, watermark_after = %s, "
                     "requests = %s, retries = %s, pages = %s, records = %s, loaded = %s, unchanged = %s, "
                     "quarantined = %s, finished_at = clock_timestamp() where fetch_id = %s",
                     (since, watermark, client.requests - req0, client.retries - retry0, pages, records, loaded,
                      unchanged, quarantined, fetch_id))
    result.pages += pages
    result.records += records
    result.loaded += loaded
    result.unchanged += unchanged
    result.quarantined += quarantined
    return finished, watermark
