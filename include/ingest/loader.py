"""Submission ingestion: register → archive/verify → COPY → validate (GX) → promote | quarantine.

Guarantees (each has a test):

* Every received file is archived as received under ``archive/<sha256[:2]>/<sha256><suffix>``
  before anything else happens; its sha256 is its identity.
* A file whose sha256 was already accepted for the same dataset is a no-op (status ``duplicate``).
* Nothing partial: COPY into a per-batch landing table runs in one transaction; promotion into
  ``raw`` (or quarantine) and the status change commit together. A crash at any point leaves the
  batch in its last committed state, and a rerun resumes from there (a stale landing table is
  dropped and reloaded).
* A later version of (institution, period, dataset) supersedes the earlier one, which stays in raw.
* Every status change is an ``ops.batch_event`` row with its time and the DAG run id.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from include.config import StatePaths, paths
from include.datasets import Dataset, get, processing_order
from include.ingest import ddl
from include.ingest.manifest import ENCODINGS, FileEntry, Manifest, ManifestError, parse_manifest
from include.ingest.pseudonymise import key_id, load_key, sql_params
from include.warehouse.connection import libpq_url

log = logging.getLogger(__name__)
CHUNK = 1 << 20
TERMINAL = ("accepted", "quarantined", "rejected", "superseded", "duplicate")


class LoadError(Exception):
    """A file cannot be loaded as delivered; the message names the file, line and rule."""


@dataclass
class BatchOutcome:
    batch_id: int
    dataset: str
    status: str
    rows: int = 0
    reason: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- archive
def archive_file(src: Path, archive_dir: Path) -> tuple[str, Path]:
    """Copy ``src`` into the archive as received; return (sha256, archived path). Idempotent."""
    archive_dir.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    tmp = archive_dir / f".incoming-{os.getpid()}-{src.name}"
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        while chunk := fin.read(CHUNK):
            h.update(chunk)
            fout.write(chunk)
    sha = h.hexdigest()
    suffix = "".join(src.suffixes)
    dest = archive_dir / sha[:2] / f"{sha}{suffix}"
    dest.parent.mkdir(exist_ok=True)
    if dest.exists():
        tmp.unlink()
    else:
        os.replace(tmp, dest)
        os.chmod(dest, 0o444)
    return sha, dest


# --------------------------------------------------------------------------- reading files
def _byte_stream(path: Path, compression: str | None) -> Iterator[bytes]:
    """The file's bytes, decompressed when gzip; corrupt or truncated gzip raises LoadError."""
    with open(path, "rb") as f:
        if compression != "gzip":
            while chunk := f.read(CHUNK):
                yield chunk
            return
        d = zlib.decompressobj(wbits=31)
        try:
            while chunk := f.read(CHUNK):
                out = d.decompress(chunk)
                if out:
                    yield out
                while d.unused_data and d.eof:  # concatenated gzip members
                    rest = d.unused_data
                    d = zlib.decompressobj(wbits=31)
                    out = d.decompress(rest)
                    if out:
                        yield out
            tail = d.flush()
            if tail:
                yield tail
        except zlib.error as e:
            raise LoadError(f"corrupt gzip ({e}) (rule: gzip_integrity)") from None
        if not d.eof:
            raise LoadError("corrupt gzip: the file is truncated, no end-of-stream marker (rule: gzip_integrity)")


def _split_header(stream: Iterator[bytes]) -> tuple[bytes, Iterator[bytes]]:
    buf = b""
    for chunk in stream:
        buf += chunk
        nl = buf.find(b"\n")
        if nl >= 0:
            header, rest = buf[: nl + 1], buf[nl + 1:]

            def remainder(first=rest, it=stream):
                if first:
                    yield first
                yield from it

            return header, remainder()
        if len(buf) > 1 << 20:
            break
    return buf, iter(())


def check_header(header: bytes, entry: FileEntry, dataset: Dataset) -> None:
    """The header must list the registry's columns in order; say exactly what differs."""
    try:
        text = header.decode(entry.encoding)
    except UnicodeDecodeError as e:
        raise LoadError(f"line 1: header is not valid {entry.encoding} ({e.reason} at byte {e.start})") from None
    text = text.lstrip("\ufeff").rstrip("\r\n")
    got = [c.strip() for c in next(csv.reader([text], delimiter=entry.delimiter))] if text else []
    want = dataset.column_names
    if got == want:
        return
    missing = [c for c in want if c not in got]
    extra = [c for c in got if c not in want]
    problems = []
    if missing:
        problems.append(f"missing columns {missing}")
    if extra:
        problems.append(f"unexpected columns {extra}")
    if not missing and not extra:
        problems.append(f"columns out of order: expected {want}, got {got}")
    raise LoadError(f"line 1 (header): {'; '.join(problems)} (rule: header_matches_registry)")


# --------------------------------------------------------------------------- ops log
def _event(conn: psycopg.Connection, batch_id: int, status: str, dag_run_id: str | None,
           detail: dict | None = None) -> None:
    _events(conn, [(batch_id, status, detail)], dag_run_id)


_EVENTS_SQL = """
with e as (
    select * from unnest(%(ids)s::bigint[], %(statuses)s::text[], %(details)s::jsonb[], %(ats)s::timestamptz[])
        with ordinality as e(batch_id, status, detail, at, n)
), b as (
    update ops.batch b set status = e.status, status_at = coalesce(e.at, clock_timestamp()),
           dag_run_id = coalesce(%(run)s, b.dag_run_id), detail = b.detail || e.detail
    from e where b.batch_id = e.batch_id
)
insert into ops.batch_event (batch_id, status, at, dag_run_id, detail)
select batch_id, status, coalesce(at, clock_timestamp()), %(run)s, detail from e order by n
"""


def _events(conn: psycopg.Connection, events: list[tuple], dag_run_id: str | None) -> None:
    """Status changes of many batches in one statement: each ``(batch_id, status, detail[, at])`` updates
    ``ops.batch`` and appends its ``ops.batch_event``, in list order. ``at`` (when the change happened,
    taken as it happened) defaults to the statement's clock. A batch listed twice gets its changes in
    order (one statement per repetition)."""
    chunk: list[tuple] = []
    seen: set[int] = set()
    for ev in [*events, None]:
        if ev is None or ev[0] in seen:
            if chunk:
                conn.execute(_EVENTS_SQL, {
                    "ids": [c[0] for c in chunk], "statuses": [c[1] for c in chunk],
                    "details": [json.dumps(c[2] or {}) for c in chunk],
                    "ats": [c[3] if len(c) > 3 else None for c in chunk], "run": dag_run_id})
            chunk, seen = [], set()
        if ev is not None:
            chunk.append(ev)
            seen.add(ev[0])


def _now() -> datetime:
    return datetime.now(UTC)


#: Submissions registered per transaction (archive first, then one commit for all of them).
REGISTER_CHUNK = 500


def register_submission(conn: psycopg.Connection, manifest: Manifest, state: StatePaths,
                        dag_run_id: str | None = None) -> list[int]:
    """Archive each file of the submission as received, then record the submission and its batches
    in one transaction. Returns the batch ids (new or existing)."""
    return register_submissions(conn, [manifest], state, dag_run_id)[0]


def register_submissions(conn: psycopg.Connection, manifests: list[Manifest], state: StatePaths,
                         dag_run_id: str | None = None) -> list[list[int]]:
    """:func:`register_submission` for many submissions: every file archived as received first, then
    all the submissions, batches and ``received`` events recorded in one transaction (a few
    statements, not a few per file). Returns each manifest's batch ids (new or existing)."""
    if not manifests:
        return []
    known: dict[tuple[str, str], int] = {
        (sid, ds): bid for sid, ds, bid in conn.execute(
            "select submission_id, dataset, batch_id from ops.batch where submission_id = any(%s)",
            (list({m.submission_id for m in manifests}),)).fetchall()}
    new: dict[tuple[str, str], tuple] = {}  # (submission, dataset) -> batch row, in manifest order
    for manifest in manifests:
        for entry in manifest.files:
            k = (manifest.submission_id, entry.dataset)
            if k in known or k in new:
                continue
            src = manifest.directory / entry.file
            sha, path = archive_file(src, state.archive) if src.exists() else (entry.sha256, None)
            new[k] = (manifest.submission_id, entry.dataset, entry.file, sha, str(path) if path else None,
                      entry.rows, json.dumps({"declared_sha256": entry.sha256}))
    with conn.transaction():
        with conn.cursor() as cur:
            cur.executemany(
                "insert into ops.submission (submission_id, institution_code, period, version, submitted_at, "
                "manifest, manifest_sha256, landing_path) values (%s,%s,%s,%s,%s,%s,%s,%s) "
                "on conflict (submission_id) do nothing",
                [(m.submission_id, m.institution_code, m.period, m.version, m.submitted_at, json.dumps(m.raw),
                  m.sha256, str(m.directory)) for m in manifests])
        if new:
            cols = list(zip(*new.values(), strict=True))
            rows = conn.execute(
                "with b as (insert into ops.batch (submission_id, dataset, file_name, file_sha256, archive_path, "
                "declared_rows, status, dag_run_id, detail) "
                "select s, d, f, h, a, r, 'received', %s, j from unnest(%s::text[], %s::text[], %s::text[], "
                "%s::text[], %s::text[], %s::bigint[], %s::jsonb[]) with ordinality as u(s, d, f, h, a, r, j, n) "
                "order by n returning batch_id, submission_id, dataset), "
                "e as (insert into ops.batch_event (batch_id, status, dag_run_id) "
                "select batch_id, 'received', %s from b order by batch_id) "
                "select submission_id, dataset, batch_id from b",
                (dag_run_id, *[list(c) for c in cols], dag_run_id)).fetchall()
            known.update({(sid, ds): bid for sid, ds, bid in rows})
    return [[known[(m.submission_id, e.dataset)] for e in m.files] for m in manifests]


# --------------------------------------------------------------------------- steps
_BATCH_ROW_SQL = (
    "select b.batch_id, b.dataset, b.file_name, b.file_sha256, b.archive_path, b.declared_rows, b.status, "
    "s.submission_id, s.institution_code, s.period, s.version, s.manifest "
    "from ops.batch b join ops.submission s using (submission_id) where b.batch_id = any(%s)")


def _batch_rows(conn: psycopg.Connection, batch_ids: list[int]) -> list[dict]:
    """The batches with their submissions, in the order of ``batch_ids`` (one query)."""
    cur = conn.execute(_BATCH_ROW_SQL, (list(batch_ids),))
    cols = [d.name for d in cur.description]
    rows = {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}
    missing = [i for i in batch_ids if i not in rows]
    if missing:
        raise KeyError(f"no batch {missing[0]}")
    return [rows[i] for i in batch_ids]


def _batch_row(conn: psycopg.Connection, batch_id: int) -> dict:
    return _batch_rows(conn, [batch_id])[0]


def _entry_for(b: dict) -> FileEntry:
    for f in b["manifest"]["files"]:
        if f["dataset"] == b["dataset"]:
            return FileEntry(f["dataset"], f["file"], f["encoding"].lower(), f["delimiter"], f.get("compression"),
                             f["rows"], f["sha256"].lower())
    raise KeyError(f"dataset {b['dataset']} not in manifest of {b['submission_id']}")


def _reject(conn: psycopg.Connection, b: dict, reason: str, dag_run_id: str | None, status: str = "rejected"):
    with conn.transaction():
        _event(conn, b["batch_id"], status, dag_run_id, {"reason": reason})
    return BatchOutcome(b["batch_id"], b["dataset"], status, reason=reason)


def verify(conn: psycopg.Connection, b: dict, dag_run_id: str | None) -> BatchOutcome | None:
    """sha256, duplicate check, header. Returns an outcome if the batch stops here."""
    return verify_many(conn, [b], dag_run_id)[b["batch_id"]]


def verify_many(conn: psycopg.Connection, batches: list[dict],
                dag_run_id: str | None) -> dict[int, BatchOutcome | None]:
    """:func:`verify` for many batches: one duplicate query and one status statement for all of them.
    Returns {batch_id: outcome if the batch stops here, else None}."""
    dups: dict[tuple[str, str], list[int]] = {}
    if batches:
        for ds, sha, bid in conn.execute(
                "select dataset, file_sha256, batch_id from ops.batch "
                "where (dataset, file_sha256) in (select * from unnest(%s::text[], %s::text[])) "
                "and status in ('accepted', 'superseded') order by batch_id",
                ([b["dataset"] for b in batches], [b["file_sha256"] for b in batches])).fetchall():
            dups.setdefault((ds, sha), []).append(bid)
    results: dict[int, BatchOutcome | None] = {}
    events: list[tuple] = []

    def stop(b: dict, reason: str, status: str = "rejected") -> None:
        events.append((b["batch_id"], status, {"reason": reason}, _now()))
        results[b["batch_id"]] = BatchOutcome(b["batch_id"], b["dataset"], status, reason=reason)

    for b in batches:
        entry = _entry_for(b)
        where = f"{b['submission_id']}/{entry.file}"
        if not b["archive_path"]:
            stop(b, f"{where}: file listed in the manifest was not delivered (rule: file_present)")
            continue
        if b["file_sha256"] != entry.sha256:
            stop(b, f"{where}: sha256 of the received file {b['file_sha256'][:12]}… does not match "
                    f"the manifest's {entry.sha256[:12]}… (rule: manifest_sha256)")
            continue
        dup = next((i for i in dups.get((b["dataset"], b["file_sha256"]), []) if i != b["batch_id"]), None)
        if dup:
            stop(b, f"{where}: identical file already accepted as batch {dup}", status="duplicate")
            continue
        try:
            header, _ = _split_header(_byte_stream(Path(b["archive_path"]), entry.compression))
            check_header(header, entry, get(b["dataset"]))
        except LoadError as e:
            stop(b, f"{where}: {e}")
            continue
        events.append((b["batch_id"], "verified", None, _now()))
        results[b["batch_id"]] = None
    with conn.transaction():
        _events(conn, events, dag_run_id)
    return results


# Batches validated by one GX screen. A clean group costs one screen whatever its size; a failing
# batch costs about log2(GROUP_MAX) more screens to isolate.
GROUP_MAX = 1000


def _copy_one(conn: psycopg.Connection, ds: Dataset, table: str, b: dict) -> int:
    """COPY one archived file into the group's landing table (caller holds a savepoint)."""
    entry = _entry_for(b)
    tbl = sql.Identifier("landing", table)
    conn.execute("select setval(pg_get_serial_sequence(%s, '_line'), 1, false), set_config(%s, %s, true), "
                 "set_config(%s, %s, true)",
                 (f"landing.{ddl.q(table)}", ddl.BATCH_SETTING, str(b["batch_id"]), ddl.PERIOD_SETTING,
                  b["period"].isoformat()))
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in ds.column_names)
    copy_sql = sql.SQL("copy {} ({}) from stdin with (format csv, delimiter {}, encoding {}, null '')").format(
        tbl, cols, sql.Literal(entry.delimiter), sql.Literal(ENCODINGS[entry.encoding]))
    _, body = _split_header(_byte_stream(Path(b["archive_path"]), entry.compression))
    with conn.cursor() as cur:
        with cur.copy(copy_sql) as copy:
            for chunk in body:
                copy.write(chunk)
        rows = cur.rowcount
    if rows != entry.rows:
        raise LoadError(f"the file has {rows} data rows but the manifest declares {entry.rows} "
                        f"(rule: manifest_row_count)")
    return rows


def _copy_error(e: psycopg.Error, entry: FileEntry) -> str:
    """COPY's own error, with the file line (COPY counts data rows; the header is line 1)."""
    diag = e.diag
    ctx = diag.context or ""
    line = None
    if ", line " in ctx:
        try:
            line = int(ctx.split(", line ")[1].split(",")[0].split(":")[0]) + 1
        except ValueError:
            line = None
    loc = f"line {line}: " if line else ""
    return f"{loc}{diag.message_primary or e} (rule: well_formed_{entry.encoding.replace('-', '')}_csv)"


def load_group(conn: psycopg.Connection, ds: Dataset, table: str, group: list[dict],
               dag_run_id: str | None) -> tuple[dict[int, int], list[BatchOutcome]]:
    """COPY every file of the group into ``landing.<table>`` in one transaction, each file under its
    own savepoint: a malformed file is rejected (with its line) and the others still load."""
    loaded: dict[int, int] = {}
    rejected: list[BatchOutcome] = []
    events: list[tuple] = []
    with conn.transaction():
        conn.execute(sql.SQL("drop table if exists {}").format(sql.Identifier("landing", table)))
        conn.execute(ddl.landing_ddl(ds, table))
        for b in group:
            entry = _entry_for(b)
            where = f"{b['submission_id']}/{entry.file}"
            try:
                with conn.transaction():
                    rows = _copy_one(conn, ds, table, b)
            except LoadError as e:
                rejected.append(_reject(conn, b, f"{where}: {e}", dag_run_id))
                continue
            except (psycopg.errors.DataError, psycopg.errors.QueryCanceled) as e:
                rejected.append(_reject(conn, b, f"{where}: {_copy_error(e, entry)}", dag_run_id))
                continue
            loaded[b["batch_id"]] = rows
            events.append((b["batch_id"], "loaded", {"landing_table": f"landing.{table}"}, _now()))
        # the group's statuses and row counts in two statements (same transaction, times as they happened)
        _events(conn, events, dag_run_id)
        if loaded:
            conn.execute("update ops.batch b set loaded_rows = u.n from unnest(%s::bigint[], %s::bigint[]) "
                         "as u(id, n) where b.batch_id = u.id", (list(loaded), list(loaded.values())))
    return loaded, rejected


def validate_group(conn: psycopg.Connection, url: str, ds: Dataset, table: str, group: list[dict],
                   loaded: dict[int, int], state: StatePaths, dag_run_id: str | None) -> tuple[dict, dict]:
    """One GX screen for the whole group (bisected down to single batches only where it fails);
    every batch's per-rule results go to ops.dq_result. Returns ({batch_id: passed}, {batch_id: outcome})."""
    from include.ingest.quality import validate_group as gx_validate_group

    members = {b["batch_id"]: (b["period"].isoformat(), loaded[b["batch_id"]]) for b in group
               if b["batch_id"] in loaded}
    outcomes = gx_validate_group(url, table, ds, members, docs_dir=state.gx_results / "data_docs")
    with conn.transaction():
        ids = list(members)
        conn.execute("delete from ops.dq_result where batch_id = any(%s)", (ids,))
        with conn.cursor() as cur:
            cur.executemany(
                "insert into ops.dq_result (batch_id, rule_name, expectation_type, severity, success, "
                "element_count, unexpected_count, examples) values (%s,%s,%s,%s,%s,%s,%s,%s)",
                [(bid, r.rule_name, r.expectation_type, r.severity, r.success, r.element_count,
                  r.unexpected_count, json.dumps(r.examples, ensure_ascii=False))
                 for bid, out in outcomes.items() for r in out.results])
        _events(conn, [(bid, "validated",
                        {"passed": out.passed, "critical_failures": [r.rule_name for r in out.critical_failures],
                         "warnings": [r.rule_name for r in out.warnings]}) for bid, out in outcomes.items()],
                dag_run_id)
    return {bid: out.passed for bid, out in outcomes.items()}, outcomes


def promote_group(conn: psycopg.Connection, ds: Dataset, table: str, group: list[dict], passed: dict[int, bool],
                  loaded: dict[int, int], dag_run_id: str | None,
                  state: StatePaths | None = None) -> list[BatchOutcome]:
    """One transaction: clean batches into raw, failing ones into quarantine (personal identifiers
    tokenised in both), statuses and supersession recorded, the landing table dropped. All of it
    or none of it."""
    tbl = sql.Identifier("landing", table)
    key = load_key(state)
    pseudonym = sql_params(key)
    lineage = {"pseudonym_key_id": key_id(key)} if ds.pii_columns else {}
    members = [b for b in group if b["batch_id"] in passed]
    good = [b for b in members if passed[b["batch_id"]]]
    bad = [b for b in members if not passed[b["batch_id"]]]
    outcomes: list[BatchOutcome] = []
    with conn.transaction():
        states = dict(conn.execute("select batch_id, status from ops.batch where batch_id = any(%s) "
                                   "order by batch_id for update", ([b["batch_id"] for b in members],)).fetchall())
        not_ready = {k: v for k, v in states.items() if v != "validated"}
        if not_ready:
            raise RuntimeError(f"batches not validated: {not_ready}")
        lock_keys = sorted({f"{b['institution_code']}|{b['period']}|{ds.name}" for b in good})
        if lock_keys:  # one statement, the locks taken in key order
            conn.execute("select count(pg_advisory_xact_lock(hashtext(k))) from "
                         "(select k from unnest(%s::text[]) k order by k) s", (lock_keys,))
        # The same file may have been accepted since it was verified (an unchanged file of a
        # resubmission, verified together with the original): it is a no-op, not a second load.
        accepted_shas = {r[0]: r[1] for r in conn.execute(
            "select file_sha256, min(batch_id) from ops.batch where dataset = %s and file_sha256 = any(%s) "
            "and status in ('accepted', 'superseded') group by 1", (ds.name, [b["file_sha256"] for b in good]))}
        unique_good = []
        events: list[tuple] = []
        for b in sorted(good, key=lambda b: (b["version"], b["batch_id"])):
            first = accepted_shas.get(b["file_sha256"])
            if first is None:
                accepted_shas[b["file_sha256"]] = b["batch_id"]
                unique_good.append(b)
                continue
            events.append((b["batch_id"], "duplicate", {"reason": f"identical file already accepted as batch {first}"}))
            outcomes.append(BatchOutcome(b["batch_id"], ds.name, "duplicate",
                                         reason=f"identical file already accepted as batch {first}"))
        _events(conn, events, dag_run_id)
        good = unique_good
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in ds.column_names)
        if good:
            for period in sorted({b["period"].isoformat() for b in good}):
                conn.execute(ddl.raw_partition_ddl(ds, period))
            conn.execute(
                sql.SQL("insert into raw.{} ({}, _batch_id, _file_sha256, _line) {}").format(
                    sql.Identifier(ds.name), cols, sql.SQL(ddl.typed_select(ds)).format(tbl)),
                {"batches": [b["batch_id"] for b in good], **pseudonym})
        ordered = sorted(good, key=lambda b: (b["institution_code"], b["period"], b["version"]))
        accepted_details = [(b, {"raw_rows": loaded[b["batch_id"]], **lineage}) for b in ordered]
        for b, status in zip(ordered, _supersede(conn, accepted_details, dag_run_id), strict=True):
            outcomes.append(BatchOutcome(b["batch_id"], ds.name, status, rows=loaded[b["batch_id"]]))
        if bad:
            conn.execute(ddl.quarantine_ddl(ds))
            conn.execute(
                sql.SQL("insert into quarantine.{} ({}, _batch_id, _file_sha256, _line) {}").format(
                    sql.Identifier(ds.name), cols, sql.SQL(ddl.quarantine_select(ds)).format(tbl)),
                {"batches": [b["batch_id"] for b in bad], **pseudonym})
            _events(conn, [(b["batch_id"], "quarantined", {"quarantine_rows": loaded[b["batch_id"]], **lineage})
                           for b in bad], dag_run_id)
            for b in bad:
                outcomes.append(BatchOutcome(b["batch_id"], ds.name, "quarantined", rows=loaded[b["batch_id"]]))
        conn.execute(sql.SQL("drop table if exists {}").format(tbl))
    return outcomes


_SUPERSEDE_SQL = """
select g.n,
       exists (select 1 from ops.batch nb join ops.submission ns using (submission_id)
               where nb.dataset = g.dataset and ns.institution_code = g.inst and ns.period = g.period
               and ns.version > g.version and nb.status = 'accepted') as newer,
       array(select nb.batch_id from ops.batch nb join ops.submission ns using (submission_id)
             where nb.dataset = g.dataset and ns.institution_code = g.inst and ns.period = g.period
             and ns.version < g.version and nb.status = 'accepted' order by nb.batch_id) as older
from unnest(%s::text[], %s::text[], %s::date[], %s::int[]) with ordinality as g(dataset, inst, period, version, n)
order by g.n
"""


def _supersede(conn: psycopg.Connection, promoted: list[tuple[dict, dict]], dag_run_id: str | None) -> list[str]:
    """Each of the ``promoted`` (batch, event detail) pairs (already in raw, in (institution, period,
    version) order) becomes accepted,
    or superseded at once if a later version is already accepted; an earlier accepted version of the
    same (institution, period, dataset) becomes superseded (it stays in raw). Records the events;
    returns the statuses in order. Set-based: one query and one status statement per round, where a
    round holds at most one batch per (institution, period, dataset) (a group always does: one round),
    so a batch sees every earlier one of the same key accepted, as one by one would."""
    batches = [b for b, _ in promoted]
    rounds: list[list[int]] = []
    depth: dict[tuple, int] = {}
    for i, b in enumerate(batches):
        k = (b["dataset"], b["institution_code"], b["period"])
        r = depth.get(k, 0)
        depth[k] = r + 1
        if r == len(rounds):
            rounds.append([])
        rounds[r].append(i)
    statuses: list[str | None] = [None] * len(batches)
    for members in rounds:
        rb = [batches[i] for i in members]
        found = conn.execute(_SUPERSEDE_SQL, ([b["dataset"] for b in rb], [b["institution_code"] for b in rb],
                                              [b["period"] for b in rb], [b["version"] for b in rb])).fetchall()
        events: list[tuple] = []
        for i, b, (_, newer, older) in zip(members, rb, found, strict=True):
            if newer:
                statuses[i] = "superseded"
            else:
                statuses[i] = "accepted"
                events += [(old_id, "superseded", {"superseded_by": b["batch_id"]}) for old_id in older]
            events.append((b["batch_id"], statuses[i], promoted[i][1]))
        _events(conn, events, dag_run_id)
    return statuses  # type: ignore[return-value]


def _groups(batches: list[dict]) -> list[list[dict]]:
    """Split a dataset's batches into groups of at most GROUP_MAX, never two versions of the same
    (institution, period) in one group (so the group's key-uniqueness screen stays exact)."""
    groups: list[tuple[set, list[dict]]] = []
    for b in sorted(batches, key=lambda b: (b["version"], b["institution_code"], b["period"])):
        key = (b["institution_code"], b["period"])
        for seen, members in groups:
            if key not in seen and len(members) < GROUP_MAX:
                seen.add(key)
                members.append(b)
                break
        else:
            groups.append(({key}, [b]))
    return [members for _, members in groups]


def process_batches(conn: psycopg.Connection, url: str, batch_ids: list[int], state: StatePaths,
                    dag_run_id: str | None = None) -> list[BatchOutcome]:
    """Drive batches from wherever they stopped to a terminal status. A batch interrupted after
    verification (loaded or validated, but not promoted) is reloaded from the archive."""
    outcomes: list[BatchOutcome] = []
    pending: dict[str, list[dict]] = {}
    with conn.transaction():  # one commit for all the verifications, not one per file
        rows = [b for b in _batch_rows(conn, list(dict.fromkeys(batch_ids))) if b["status"] not in TERMINAL]
        verified = verify_many(conn, [b for b in rows if b["status"] == "received"], dag_run_id)
        for b in rows:
            out = verified.get(b["batch_id"])
            if out:
                outcomes.append(out)
                continue
            pending.setdefault(b["dataset"], []).append(b)
    for name in processing_order(pending):  # referenced datasets first (customers before loans ...)
        ds = get(name)
        for group in _groups(pending[name]):
            t = time.perf_counter()
            table = ddl.landing_table(ds, group[0]["batch_id"])
            loaded, rejected = load_group(conn, ds, table, group, dag_run_id)
            outcomes.extend(rejected)
            t_copy = time.perf_counter() - t
            if not loaded:
                conn.execute(sql.SQL("drop table if exists {}").format(sql.Identifier("landing", table)))
                continue
            t = time.perf_counter()
            passed, details = validate_group(conn, url, ds, table, group, loaded, state, dag_run_id)
            t_validate = time.perf_counter() - t
            t = time.perf_counter()
            promoted = promote_group(conn, ds, table, group, passed, loaded, dag_run_id, state)
            t_promote = time.perf_counter() - t
            for out in promoted:
                out.seconds = {"copy": t_copy, "validate": t_validate, "promote": t_promote}
                if out.status == "quarantined":
                    out.reason = "; ".join(f"{r.rule_name} ({r.unexpected_count} rows)"
                                           for r in details[out.batch_id].critical_failures)
            outcomes.extend(promoted)
            log.info("%s: %d batches, %d rows: copy %.2fs, validate %.2fs, promote %.2fs", name, len(group),
                     sum(loaded.values()), t_copy, t_validate, t_promote)
    return outcomes


def ingest_manifests(url: str, manifest_paths: list[Path], state: StatePaths | None = None,
                     dag_run_id: str | None = None) -> list[BatchOutcome]:
    """Register every submission, then process all their batches, grouped by dataset. Safe to
    rerun at any point."""
    state = state or paths()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        manifests: list[Manifest] = []
        for manifest_path in manifest_paths:
            try:
                manifests.append(parse_manifest(Path(manifest_path)))
            except ManifestError as e:
                log.error("rejected submission %s: %s", Path(manifest_path).parent.name, e)
                _record_bad_manifest(conn, Path(manifest_path), str(e), state, dag_run_id)
        batch_ids: list[int] = []
        for i in range(0, len(manifests), REGISTER_CHUNK):
            for ids in register_submissions(conn, manifests[i:i + REGISTER_CHUNK], state, dag_run_id):
                batch_ids += ids
        submissions = [m.submission_id for m in manifests]
        outcomes = process_batches(conn, url, batch_ids, state, dag_run_id)
        from include.ingest.feedback import report_submissions

        report_submissions(conn, submissions, state)
        return outcomes


def _record_bad_manifest(conn: psycopg.Connection, manifest_path: Path, reason: str, state: StatePaths,
                         dag_run_id: str | None) -> None:
    """An unreadable manifest is archived and logged in ops.bad_manifest; nothing is loaded."""
    sha, archived = archive_file(manifest_path, state.archive)
    conn.execute(
        "insert into ops.bad_manifest (manifest_sha256, landing_path, archive_path, reason, dag_run_id) "
        "values (%s,%s,%s,%s,%s) on conflict (manifest_sha256) do nothing",
        (sha, str(manifest_path.parent), str(archived), reason, dag_run_id))
    from include.ingest.feedback import write_bad_manifest_feedback

    write_bad_manifest_feedback(manifest_path, reason, state)


def pending_manifests(url: str, landing: Path) -> list[Path]:
    """Submissions in the landing zone not yet fully processed."""
    from include.ingest.manifest import find_manifests

    found = find_manifests(landing)
    with psycopg.connect(libpq_url(url)) as conn:
        done = {r[0] for r in conn.execute(
            "select s.landing_path from ops.submission s where not exists ("
            "select 1 from ops.batch b where b.submission_id = s.submission_id "
            "and b.status not in ('accepted','quarantined','rejected','superseded','duplicate')) "
            "and exists (select 1 from ops.batch b where b.submission_id = s.submission_id)")}
        bad = {r[0] for r in conn.execute("select landing_path from ops.bad_manifest")}
    return [p for p in found if str(p.parent) not in done and str(p.parent) not in bad]
