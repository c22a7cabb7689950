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

The steps live in their own modules: :mod:`include.ingest.files` (archive, read, header),
:mod:`include.ingest.ledger` (register, verify, status events), :mod:`include.ingest.quality` (the GX
gate), :mod:`include.ingest.promote` (raw or quarantine, supersession). This module drives batches
through them, a dataset group at a time.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import psycopg
from psycopg import sql

from include.config import StatePaths, paths
from include.ingest.contract import ENCODINGS, FileEntry, Manifest, ManifestError, parse_manifest
from include.ingest.files import LoadError, _byte_stream, _split_header, archive_file
from include.ingest.ledger import (
    REGISTER_CHUNK,
    TERMINAL,
    BatchOutcome,
    _batch_rows,
    _entry_for,
    _events,
    _now,
    _reject,
    register_submissions,
    verify_many,
)
from include.ingest.promote import promote_group
from include.registry import ddl
from include.registry.datasets import Dataset, get, processing_order
from include.warehouse.connection import libpq_url

__all__ = ["BatchOutcome", "LoadError", "TERMINAL", "ingest_manifests", "pending_manifests", "process_batches"]

log = logging.getLogger(__name__)


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


def gate_group(conn: psycopg.Connection, url: str, ds: Dataset, table: str, group: list[dict],
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
            passed, details = gate_group(conn, url, ds, table, group, loaded, state, dag_run_id)
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
    from include.ingest.contract import find_manifests

    found = find_manifests(landing)
    with psycopg.connect(libpq_url(url)) as conn:
        done = {r[0] for r in conn.execute(
            "select s.landing_path from ops.submission s where not exists ("
            "select 1 from ops.batch b where b.submission_id = s.submission_id "
            "and b.status not in ('accepted','quarantined','rejected','superseded','duplicate')) "
            "and exists (select 1 from ops.batch b where b.submission_id = s.submission_id)")}
        bad = {r[0] for r in conn.execute("select landing_path from ops.bad_manifest")}
    return [p for p in found if str(p.parent) not in done and str(p.parent) not in bad]
