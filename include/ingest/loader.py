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
    conn.execute(
        "update ops.batch set status = %s, status_at = clock_timestamp(), "
        "dag_run_id = coalesce(%s, dag_run_id), detail = detail || %s::jsonb where batch_id = %s",
        (status, dag_run_id, json.dumps(detail or {}), batch_id),
    )
    conn.execute("insert into ops.batch_event (batch_id, status, dag_run_id, detail) values (%s, %s, %s, %s)",
                 (batch_id, status, dag_run_id, json.dumps(detail or {})))


def register_submission(conn: psycopg.Connection, manifest: Manifest, state: StatePaths,
                        dag_run_id: str | None = None) -> list[int]:
    """Archive each file of the submission as received, then record the submission and its batches
    in one transaction. Returns the batch ids (new or existing)."""
    known = dict(conn.execute("select dataset, batch_id from ops.batch where submission_id = %s",
                              (manifest.submission_id,)).fetchall())
    archived: dict[str, tuple[str, Path | None]] = {}
    for entry in manifest.files:
        if entry.dataset in known:
            continue
        src = manifest.directory / entry.file
        archived[entry.dataset] = archive_file(src, state.archive) if src.exists() else (entry.sha256, None)
    with conn.transaction():
        conn.execute(
            "insert into ops.submission (submission_id, institution_code, period, version, submitted_at, "
            "manifest, manifest_sha256, landing_path) values (%s,%s,%s,%s,%s,%s,%s,%s) "
            "on conflict (submission_id) do nothing",
            (manifest.submission_id, manifest.institution_code, manifest.period, manifest.version,
             manifest.submitted_at, json.dumps(manifest.raw), manifest.sha256, str(manifest.directory)),
        )
        ids = []
        for entry in manifest.files:
            if entry.dataset in known:
                ids.append(known[entry.dataset])
                continue
            sha, path = archived[entry.dataset]
            batch_id = conn.execute(
                "insert into ops.batch (submission_id, dataset, file_name, file_sha256, archive_path, "
                "declared_rows, status, dag_run_id, detail) values (%s,%s,%s,%s,%s,%s,'received',%s,%s) "
                "returning batch_id",
                (manifest.submission_id, entry.dataset, entry.file, sha, str(path) if path else None,
                 entry.rows, dag_run_id, json.dumps({"declared_sha256": entry.sha256})),
            ).fetchone()[0]
            conn.execute("insert into ops.batch_event (batch_id, status, dag_run_id) values (%s,'received',%s)",
                         (batch_id, dag_run_id))
            ids.append(batch_id)
    return ids


# --------------------------------------------------------------------------- steps
def _batch_row(conn: psycopg.Connection, batch_id: int) -> dict:
    cur = conn.execute(
        "select b.batch_id, b.dataset, b.file_name, b.file_sha256, b.archive_path, b.declared_rows, b.status, "
        "s.submission_id, s.institution_code, s.period, s.version, s.manifest "
        "from ops.batch b join ops.submission s using (submission_id) where b.batch_id = %s", (batch_id,))
    cols = [d.name for d in cur.description]
    row = cur.fetchone()
    if row is None:
        raise KeyError(f"no batch {batch_id}")
    return dict(zip(cols, row, strict=True))


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
    entry = _entry_for(b)
    where = f"{b['submission_id']}/{entry.file}"
    if not b["archive_path"]:
        return _reject(conn, b, f"{where}: file listed in the manifest was not delivered "
                                f"(rule: file_present)", dag_run_id)
    if b["file_sha256"] != entry.sha256:
        return _reject(conn, b, f"{where}: sha256 of the received file {b['file_sha256'][:12]}… does not match "
                                f"the manifest's {entry.sha256[:12]}… (rule: manifest_sha256)", dag_run_id)
    dup = conn.execute(
        "select batch_id from ops.batch where dataset = %s and file_sha256 = %s "
        "and status in ('accepted', 'superseded') and batch_id <> %s limit 1",
        (b["dataset"], b["file_sha256"], b["batch_id"])).fetchone()
    if dup:
        return _reject(conn, b, f"{where}: identical file already accepted as batch {dup[0]}", dag_run_id,
                       status="duplicate")
    try:
        header, _ = _split_header(_byte_stream(Path(b["archive_path"]), entry.compression))
        check_header(header, entry, get(b["dataset"]))
    except LoadError as e:
        return _reject(conn, b, f"{where}: {e}", dag_run_id)
    with conn.transaction():
        _event(conn, b["batch_id"], "verified", dag_run_id)
    return None


# Batches validated by one GX screen. A clean group costs one screen whatever its size; a failing
# batch costs about log2(GROUP_MAX) more screens to isolate.
GROUP_MAX = 1000


def _copy_one(conn: psycopg.Connection, ds: Dataset, table: str, b: dict) -> int:
    """COPY one archived file into the group's landing table (caller holds a savepoint)."""
    entry = _entry_for(b)
    tbl = sql.Identifier("landing", table)
    conn.execute(sql.SQL("alter table {} alter column _line restart with 1, "
                         "alter column _batch_id set default {}, alter column _period set default {}").format(
        tbl, sql.Literal(b["batch_id"]), sql.Literal(b["period"].isoformat())))
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
            _event(conn, b["batch_id"], "loaded", dag_run_id, {"landing_table": f"landing.{table}"})
            conn.execute("update ops.batch set loaded_rows = %s where batch_id = %s", (rows, b["batch_id"]))
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
        for bid, out in outcomes.items():
            _event(conn, bid, "validated", dag_run_id,
                   {"passed": out.passed, "critical_failures": [r.rule_name for r in out.critical_failures],
                    "warnings": [r.rule_name for r in out.warnings]})
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
        for key in sorted({f"{b['institution_code']}|{b['period']}|{ds.name}" for b in good}):
            conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (key,))
        # The same file may have been accepted since it was verified (an unchanged file of a
        # resubmission, verified together with the original): it is a no-op, not a second load.
        accepted_shas = {r[0]: r[1] for r in conn.execute(
            "select file_sha256, min(batch_id) from ops.batch where dataset = %s and file_sha256 = any(%s) "
            "and status in ('accepted', 'superseded') group by 1", (ds.name, [b["file_sha256"] for b in good]))}
        unique_good = []
        for b in sorted(good, key=lambda b: (b["version"], b["batch_id"])):
            first = accepted_shas.get(b["file_sha256"])
            if first is None:
                accepted_shas[b["file_sha256"]] = b["batch_id"]
                unique_good.append(b)
                continue
            _event(conn, b["batch_id"], "duplicate", dag_run_id,
                   {"reason": f"identical file already accepted as batch {first}"})
            outcomes.append(BatchOutcome(b["batch_id"], ds.name, "duplicate",
                                         reason=f"identical file already accepted as batch {first}"))
        good = unique_good
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in ds.column_names)
        if good:
            for period in sorted({b["period"].isoformat() for b in good}):
                conn.execute(ddl.raw_partition_ddl(ds, period))
            conn.execute(
                sql.SQL("insert into raw.{} ({}, _batch_id, _file_sha256, _line) {}").format(
                    sql.Identifier(ds.name), cols, sql.SQL(ddl.typed_select(ds)).format(tbl)),
                {"batches": [b["batch_id"] for b in good], **pseudonym})
        for b in sorted(good, key=lambda b: (b["institution_code"], b["period"], b["version"])):
            status = _supersede(conn, b, dag_run_id)
            _event(conn, b["batch_id"], status, dag_run_id, {"raw_rows": loaded[b["batch_id"]], **lineage})
            outcomes.append(BatchOutcome(b["batch_id"], ds.name, status, rows=loaded[b["batch_id"]]))
        if bad:
            conn.execute(ddl.quarantine_ddl(ds))
            conn.execute(
                sql.SQL("insert into quarantine.{} ({}, _batch_id, _file_sha256, _line) {}").format(
                    sql.Identifier(ds.name), cols, sql.SQL(ddl.quarantine_select(ds)).format(tbl)),
                {"batches": [b["batch_id"] for b in bad], **pseudonym})
            for b in bad:
                _event(conn, b["batch_id"], "quarantined", dag_run_id,
                       {"quarantine_rows": loaded[b["batch_id"]], **lineage})
                outcomes.append(BatchOutcome(b["batch_id"], ds.name, "quarantined", rows=loaded[b["batch_id"]]))
        conn.execute(sql.SQL("drop table if exists {}").format(tbl))
    return outcomes


def _supersede(conn: psycopg.Connection, b: dict, dag_run_id: str | None) -> str:
    """Accepted, or superseded at once if a later version is already accepted; an earlier accepted
    version of the same (institution, period, dataset) becomes superseded (it stays in raw)."""
    args = (b["dataset"], b["institution_code"], b["period"], b["version"])
    newer = conn.execute(
        "select 1 from ops.batch nb join ops.submission ns using (submission_id) where nb.dataset = %s "
        "and ns.institution_code = %s and ns.period = %s and ns.version > %s and nb.status = 'accepted'",
        args).fetchone()
    if newer:
        return "superseded"
    older = conn.execute(
        "select nb.batch_id from ops.batch nb join ops.submission ns using (submission_id) where nb.dataset = %s "
        "and ns.institution_code = %s and ns.period = %s and ns.version < %s and nb.status = 'accepted'",
        args).fetchall()
    for (old_id,) in older:
        _event(conn, old_id, "superseded", dag_run_id, {"superseded_by": b["batch_id"]})
    return "accepted"


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
        for batch_id in batch_ids:
            b = _batch_row(conn, batch_id)
            if b["status"] in TERMINAL:
                continue
            if b["status"] == "received":
                out = verify(conn, b, dag_run_id)
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
        batch_ids: list[int] = []
        submissions: list[str] = []
        for manifest_path in manifest_paths:
            try:
                manifest = parse_manifest(Path(manifest_path))
            except ManifestError as e:
                log.error("rejected submission %s: %s", Path(manifest_path).parent.name, e)
                _record_bad_manifest(conn, Path(manifest_path), str(e), state, dag_run_id)
                continue
            batch_ids += register_submission(conn, manifest, state, dag_run_id)
            submissions.append(manifest.submission_id)
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
