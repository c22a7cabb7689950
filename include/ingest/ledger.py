"""The submission log in ``ops``: submissions and batches registered, every status change an
``ops.batch_event`` row (set-based: a few statements for many batches), and verification (sha256,
duplicates, header) of received batches."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from include.config import StatePaths
from include.ingest.contract import FileEntry, Manifest
from include.ingest.files import LoadError, _byte_stream, _split_header, archive_file, check_header
from include.registry.datasets import get

TERMINAL = ("accepted", "quarantined", "rejected", "superseded", "duplicate")


@dataclass
class BatchOutcome:
    batch_id: int
    dataset: str
    status: str
    rows: int = 0
    reason: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)


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
            return FileEntry.model_validate(f)
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

