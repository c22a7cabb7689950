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

import hashlib
import itertools
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

from include.config import StatePaths, paths, private_files
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
from include.ingest.screen import screen_batch, screen_rows, unknown_institutions
from include.registry import ddl
from include.registry.datasets import Dataset, get, processing_order
from include.warehouse.connection import libpq_url

__all__ = ["BatchOutcome", "LoadError", "TERMINAL", "ingest_manifests", "pending_manifests", "process_batches"]

log = logging.getLogger(__name__)


# Batches validated by one GX screen. A clean group costs one screen whatever its size; a failing
# batch costs about log2(GROUP_MAX) more screens to isolate.
GROUP_MAX = 1000


#: the savepoint each file's COPY runs under (one at a time: released before the next file's is taken)
_SAVEPOINT = sql.Identifier("copy_file")


def _begin_file(conn: psycopg.Connection, table: str, b: dict, release: bool) -> None:
    """Take the file's savepoint (:data:`_SAVEPOINT`) and set what the landing table's defaults read (line
    numbering restarted, batch, period), in one round trip; with ``release``, the previous file's
    savepoint is released first (its rows kept). An error here is not the file's: the caller lets it
    through (the group fails, a rerun resumes)."""
    conn.execute(sql.SQL("{}savepoint {}; select setval(pg_get_serial_sequence({}, '_line'), 1, false), "
                         "set_config({}, {}, true), set_config({}, {}, true)").format(
        sql.SQL("release savepoint {}; ").format(_SAVEPOINT) if release else sql.SQL(""), _SAVEPOINT,
        sql.Literal(f"landing.{ddl.q(table)}"), sql.Literal(ddl.BATCH_SETTING), sql.Literal(str(int(b["batch_id"]))),
        sql.Literal(ddl.PERIOD_SETTING), sql.Literal(b["period"].isoformat())))


def _copy_one(conn: psycopg.Connection, ds: Dataset, table: str, b: dict, entry: FileEntry) -> int:
    """COPY one archived file into the group's landing table (caller holds the file's savepoint,
    :func:`_begin_file`, and rolls back to it if this raises)."""
    tbl = sql.Identifier("landing", table)
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
    screen_batch(conn, ds, table, b, rows)
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
        # Each file under its own savepoint, as psycopg's nested transaction() would take it, but taken in
        # one round trip with the file's settings, and released in the next file's (2 round trips a file, not 4)
        held = False  # a successful file's savepoint, not yet released
        for b in group:
            entry = _entry_for(b)
            where = f"{b['submission_id']}/{entry.file}"
            _begin_file(conn, table, b, release=held)
            held = True
            try:
                rows = _copy_one(conn, ds, table, b, entry)
            except (LoadError, psycopg.errors.DataError, psycopg.errors.QueryCanceled) as e:
                conn.execute(sql.SQL("rollback to savepoint {0}; release savepoint {0}").format(_SAVEPOINT))
                held = False
                reason = str(e) if isinstance(e, LoadError) else _copy_error(e, entry)
                rejected.append(_rejection(b, f"{where}: {reason}", getattr(e, "status", "rejected"), events))
                continue
            loaded[b["batch_id"]] = rows
            events.append((b["batch_id"], "loaded", {"landing_table": f"landing.{table}"}, _now()))
        if held:
            conn.execute(sql.SQL("release savepoint {}").format(_SAVEPOINT))
        # the row screens of every loaded file at once (include/ingest/screen.py): a failing file is
        # rejected, its rows leave the landing table, the others go on
        screened = screen_rows(conn, ds, table, [b for b in group if loaded.get(b["batch_id"])])
        if screened:
            conn.execute(sql.SQL("delete from {} where _batch_id = any(%s)").format(
                sql.Identifier("landing", table)), (list(screened),))
            events = [ev for ev in events if ev[0] not in screened]
            for b in group:
                e = screened.get(b["batch_id"])
                if e is not None:
                    del loaded[b["batch_id"]]
                    rejected.append(_rejection(b, f"{b['submission_id']}/{_entry_for(b).file}: {e}",
                                               getattr(e, "status", "rejected"), events))
        # the group's statuses (rejections too) and row counts in two statements (same transaction, times as
        # they happened), not a savepoint and a statement per rejected file
        _events(conn, events, dag_run_id)
        if loaded:
            conn.execute("update ops.batch b set loaded_rows = u.n from unnest(%s::bigint[], %s::bigint[]) "
                         "as u(id, n) where b.batch_id = u.id", (list(loaded), list(loaded.values())))
    return loaded, rejected


def _rejection(b: dict, reason: str, status: str, events: list[tuple]) -> BatchOutcome:
    """A file rejected (or held: ``status``) at load, its event appended to ``events`` (written with the
    group's, :func:`include.ingest.ledger._events`): what :func:`include.ingest.ledger._reject` records."""
    events.append((b["batch_id"], status, {"reason": reason}, _now()))
    return BatchOutcome(b["batch_id"], b["dataset"], status, reason=reason)


def gate_group(conn: psycopg.Connection, url: str, ds: Dataset, table: str, group: list[dict],
               loaded: dict[int, int], state: StatePaths,
               dag_run_id: str | None) -> tuple[dict, dict, tuple | None]:
    """One GX screen for the whole group (bisected down to single batches only where it fails);
    every batch's per-rule results go to ops.dq_result. Returns ({batch_id: passed}, {batch_id: outcome},
    the group's typed table kept for promotion as (name, batch ids), or None)."""
    from include.ingest.quality import validate_group as gx_validate_group
    from include.ingest.results import ValidationOutcome

    # a rider (the same file as its host, an earlier version: loader._riders) whose host was loaded gets the
    # host's results; one whose host was not is validated as any other batch
    riding = {b["batch_id"]: b["rides_on"] for b in group
              if b.get("rides_on") in loaded and b["batch_id"] in loaded}
    members = {b["batch_id"]: (b["period"].isoformat(), loaded[b["batch_id"]]) for b in group
               if b["batch_id"] in loaded and b["batch_id"] not in riding}
    # No GX Data Docs: they render submitted cell values unescaped (stored XSS, issue #14); the
    # feedback reports and ops.dq_result carry the masked findings.
    kept: list = []
    outcomes = gx_validate_group(url, table, ds, members, docs_dir=None, kept=kept)
    for bid, host in riding.items():
        o = outcomes[host]
        outcomes[bid] = ValidationOutcome(o.batch_table, list(o.results), o.passed, o.seconds, o.data_docs_path)
    try:
        _record_results(conn, outcomes, dag_run_id)
    except BaseException:
        for typed, _ in kept:
            conn.execute(sql.SQL("drop table if exists {}").format(sql.Identifier("landing", typed)))
        raise
    return {bid: out.passed for bid, out in outcomes.items()}, outcomes, (kept[0] if kept else None)


def _record_results(conn: psycopg.Connection, outcomes: dict, dag_run_id: str | None) -> None:
    """Every batch's per-rule results into ops.dq_result and its 'validated' event."""
    with conn.transaction():
        conn.execute("delete from ops.dq_result where batch_id = any(%s)", (list(outcomes),))
        # one COPY, not one round trip per (batch, rule) nor arrays of every column (233k rows for the small
        # demo): psycopg escapes each text value for COPY's text format (tabs, newlines, backslashes)
        with conn.cursor() as cur, cur.copy(
                "copy ops.dq_result (batch_id, rule_name, expectation_type, severity, success, element_count, "
                "unexpected_count, examples) from stdin") as copy:
            for bid, out in outcomes.items():
                for r in out.results:
                    copy.write_row((bid, r.rule_name, r.expectation_type, r.severity, r.success, r.element_count,
                                    r.unexpected_count, json.dumps(r.examples, ensure_ascii=False)))
        _events(conn, [(bid, "validated",
                        {"passed": out.passed, "critical_failures": [r.rule_name for r in out.critical_failures],
                         "warnings": [r.rule_name for r in out.warnings]}) for bid, out in outcomes.items()],
                dag_run_id)



def _groups(batches: list[dict], riders: dict[int, int] | None = None,
            shares: Callable[[dict], bool] = lambda b: False) -> list[list[dict]]:
    """Split a dataset's batches into groups of at most GROUP_MAX. Two versions of the same (institution,
    period) share a group only where ``shares`` (:func:`_may_share`) says the later one may: its results do
    not depend on the earlier one's promotion (the group screen's unique flags are set per batch,
    :func:`include.ingest.typed.mark_duplicates` with ``within="_batch_id"``, so they stay exact); else the
    later version goes to another group. A rider (``riders``: batch id -> its host's, :func:`_riders`) joins
    its host's group instead, beyond GROUP_MAX if need be: it is loaded and screened as its own, but not
    validated by GX (:func:`gate_group`)."""
    riders = riders or {}
    groups: list[tuple[dict, list[dict]]] = []  # (key -> the files of that key in the group, members)
    group_of: dict[int, list[dict]] = {}
    for b in sorted(batches, key=lambda b: (b["version"], b["institution_code"], b["period"])):
        host = riders.get(b["batch_id"])
        if host in group_of:  # the host comes first: an earlier version
            b["rides_on"] = host
            group_of[host].append(b)
            continue
        key, sha = (b["institution_code"], b["period"]), b["file_sha256"]
        for seen, members in groups:
            # never the same file as an earlier version in the group: promotion would take it for a duplicate
            # of that version accepted, which a later group finds superseded (v1 = v3 != v2: v3 is accepted)
            if (key not in seen or (shares(b) and sha not in seen[key])) and len(members) < GROUP_MAX:
                seen.setdefault(key, set()).add(sha)
                members.append(b)
                break
        else:
            groups.append(({key: {sha}}, [b]))
            members = groups[-1][1]
        group_of[b["batch_id"]] = members
    return [members for _, members in groups]


def _may_share(ds: Dataset) -> Callable[[dict], bool]:
    """Whether a later version (a batch of ``ds``) may share a group with an earlier version of its
    (institution, period) (:func:`_groups`): what its load, gate and promotion decide must not read the
    earlier version's outcome. Not for a dataset whose rules read its own rows (``reads_own_rows``: they
    would read the earlier version promoted, or not), nor for ``institution`` (its identity screen reads
    the accepted record), nor for a file declaring no rows (the empty-resubmission screen,
    :func:`include.ingest.screen.screen_batch`, reads the earlier version accepted: a file with rows never
    reaches it, a row count unlike the declared one is rejected first). Everything else is per batch: the
    row screens, every rule (row-local, or per key within the batch: the unique flags), and promotion (one
    round of :func:`include.ingest.promote._supersede` per version, in version order, as group after group),
    except that promotion takes a file the same as one accepted in its group for a duplicate: :func:`_groups`
    keeps a later version that is the same file as an earlier one of its group out of it."""
    from include.ingest.overlap import reads_own_rows

    if ds.name == "institution" or reads_own_rows(ds):
        return lambda b: False
    return lambda b: _entry_for(b).rows > 0


#: per (dataset, institution, period): the greatest version already accepted
_ACCEPTED_VERSION_SQL = (
    "select b.dataset, s.institution_code, s.period, max(s.version) from ops.batch b "
    "join ops.submission s using (submission_id) join unnest(%s::text[], %s::text[], %s::date[]) "
    "as k(dataset, inst, period) on (b.dataset, s.institution_code, s.period) = (k.dataset, k.inst, k.period) "
    "where b.status = 'accepted' group by 1, 2, 3")


def _riders(conn: psycopg.Connection, ds: Dataset, batches: list[dict]) -> dict[int, int]:
    """The later versions among ``batches`` (one dataset's) that are the same file as the version just
    before them (an unchanged file of a resubmission, verified in the same run as the original): batch id
    -> the first version of that file (its host). Such a file is the same input under the same
    (institution, period) and manifest entry (encoding, delimiter, compression, rows), validated against
    the same state: the dataset's rules read no rows of the dataset itself (``reads_own_rows``), and
    the datasets they read are promoted before this one's groups start. So its GX results are its
    host's (a validation of it in a group of its own gave exactly those, at the cost of a load and a GX
    run); promotion then finds it a duplicate of its host, or quarantines both. For ``institution`` the
    manifests must also agree on ``identity_change``: its identity screen then gives the rider what it gives
    the host (against the record accepted before; its own run would have compared it with the host's,
    which is that record's identity whenever the host passed that screen unflagged). Not where a later
    version of the key is already accepted (the host is then superseded, and its file no duplicate of an
    accepted one), nor past a changed version."""
    from include.ingest.overlap import reads_own_rows

    if reads_own_rows(ds):
        return {}

    def same(b: dict) -> tuple:
        e = _entry_for(b)
        flagged = ds.name == "institution" and bool((b["manifest"] or {}).get("identity_change"))
        return b["file_sha256"], e.encoding, e.delimiter, e.compression, e.rows, flagged

    by_key: dict[tuple, list[dict]] = {}
    for b in batches:
        by_key.setdefault((b["institution_code"], b["period"]), []).append(b)
    candidates = {k: sorted(v, key=lambda b: (b["version"], b["batch_id"])) for k, v in by_key.items() if len(v) > 1}
    if not candidates:
        return {}
    keys = list(candidates)
    accepted = {(inst, period): v for _, inst, period, v in conn.execute(
        _ACCEPTED_VERSION_SQL, ([ds.name] * len(keys), [k[0] for k in keys], [k[1] for k in keys]))}
    riders: dict[int, int] = {}
    for key, versions in candidates.items():
        for before, b in itertools.pairwise(versions):
            if before["version"] == b["version"] or accepted.get(key, 0) > before["version"]:
                continue
            if same(before) == same(b):
                riders[b["batch_id"]] = riders.get(before["batch_id"], before["batch_id"])
    return riders


def process_batches(conn: psycopg.Connection, url: str, batch_ids: list[int], state: StatePaths,
                    dag_run_id: str | None = None) -> list[BatchOutcome]:
    """Drive batches from wherever they stopped to a terminal status. A batch interrupted after
    verification (loaded or validated, but not promoted) is reloaded from the archive. A group's
    promotion runs on a second connection while the next group of the same dataset is loaded and
    validated (:class:`include.ingest.overlap.Promoter`), when nothing that group's load or gate reads
    depends on it; each promotion is still one transaction, in group order."""
    from include.ingest.overlap import Promoter

    pending: dict[str, list[dict]] = {}
    parts: list[list[BatchOutcome]] = [[]]
    with conn.transaction():  # one commit for all the verifications, not one per file
        rows = [b for b in _batch_rows(conn, list(dict.fromkeys(batch_ids))) if b["status"] not in TERMINAL]
        verified = verify_many(conn, [b for b in rows if b["status"] == "received"], dag_run_id)
        for b in rows:
            out = verified.get(b["batch_id"])
            if out:
                parts[0].append(out)
                continue
            pending.setdefault(b["dataset"], []).append(b)
    with Promoter(url, conn, _fail_group, dag_run_id) as promoter:
        for name in processing_order(pending):  # referenced datasets first (customers before loans ...)
            ds = get(name)
            for group in _groups(pending[name], _riders(conn, ds, pending[name]), _may_share(ds)):
                part: list[BatchOutcome] = []
                parts.append(part)
                if not promoter.may_overlap(ds, group):
                    promoter.wait()  # what this group reads depends on the previous group's promotion
                try:
                    promote = _prepare_group(conn, url, ds, group, state, dag_run_id, part)
                except psycopg.OperationalError:
                    raise  # the server went away: nothing to decide here, a rerun resumes
                except Exception as e:  # one group's failure must not stop the others (issue #14)
                    log.exception("%s: group of %d batches could not be processed", name, len(group))
                    part.extend(_fail_group(conn, ds, group, e, dag_run_id))
                    continue
                if promote is not None:
                    promoter.submit(ds, group, promote, part)
            promoter.wait()  # the next dataset may reference this one
    return [o for part in parts for o in part]


def _fail_group(conn: psycopg.Connection, ds: Dataset, group: list[dict], e: Exception,
                dag_run_id: str | None) -> list[BatchOutcome]:
    """Reject a group's unfinished batches after an unexpected error (the institution is told)."""
    table = ddl.landing_table(ds, group[0]["batch_id"])
    conn.execute(sql.SQL("drop table if exists {}").format(sql.Identifier("landing", table)))
    left = {r[0] for r in conn.execute("select batch_id from ops.batch where batch_id = any(%s) and status <> all(%s)",
                                       ([b["batch_id"] for b in group], list(TERMINAL)))}
    return [_reject(conn, b, f"{b['submission_id']}/{b['file_name']}: could not be processed "
                             f"({type(e).__name__}) (rule: processing_error)", dag_run_id)
            for b in group if b["batch_id"] in left]


def _prepare_group(conn: psycopg.Connection, url: str, ds: Dataset, group: list[dict], state: StatePaths,
                   dag_run_id: str | None, outcomes: list[BatchOutcome]):
    """COPY and validate one group of a dataset's batches (their rejections appended to ``outcomes``);
    returns its promotion, ``promote(connection) -> outcomes``, or None when nothing was loaded."""
    name = ds.name
    t = time.perf_counter()
    table = ddl.landing_table(ds, group[0]["batch_id"])
    loaded, rejected = load_group(conn, ds, table, group, dag_run_id)
    outcomes.extend(rejected)
    t_copy = time.perf_counter() - t
    if not loaded:
        conn.execute(sql.SQL("drop table if exists {}").format(sql.Identifier("landing", table)))
        return None
    t = time.perf_counter()
    passed, details, typed = gate_group(conn, url, ds, table, group, loaded, state, dag_run_id)
    t_validate = time.perf_counter() - t

    def promote(pconn: psycopg.Connection) -> list[BatchOutcome]:
        t = time.perf_counter()
        try:
            promoted = promote_group(pconn, ds, table, group, passed, loaded, dag_run_id, state, typed=typed)
        except BaseException:
            if typed:  # the landing table stays for the rerun; the typed table is rebuilt then
                pconn.execute(sql.SQL("drop table if exists {}").format(sql.Identifier("landing", typed[0])))
            raise
        t_promote = time.perf_counter() - t
        for out in promoted:
            out.seconds = {"copy": t_copy, "validate": t_validate, "promote": t_promote}
            if out.status == "quarantined":
                out.reason = "; ".join(f"{r.rule_name} ({r.unexpected_count} rows)"
                                       for r in details[out.batch_id].critical_failures)
        log.info("%s: %d batches, %d rows: copy %.2fs, validate %.2fs, promote %.2fs", name, len(group),
                 sum(loaded.values()), t_copy, t_validate, t_promote)
        return promoted

    return promote


def ingest_manifests(url: str, manifest_paths: list[Path], state: StatePaths | None = None,
                     dag_run_id: str | None = None) -> list[BatchOutcome]:
    """Register every submission, then process all their batches, grouped by dataset. Safe to
    rerun at any point. Everything written under the state directory is private (umask 0077)."""
    state = state or paths()
    with private_files():
        return _ingest(url, manifest_paths, state, dag_run_id)


def _ingest(url: str, manifest_paths: list[Path], state: StatePaths, dag_run_id: str | None) -> list[BatchOutcome]:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        manifests: list[Manifest] = []
        for manifest_path in manifest_paths:
            try:
                manifests.append(parse_manifest(Path(manifest_path)))
            except ManifestError as e:
                _bad(conn, Path(manifest_path), str(e), state, dag_run_id)
        manifests = _admissible(conn, manifests, state, dag_run_id)
        batch_ids: list[int] = []
        for i in range(0, len(manifests), REGISTER_CHUNK):
            chunk = manifests[i:i + REGISTER_CHUNK]
            try:
                registered = register_submissions(conn, chunk, state, dag_run_id)
            except psycopg.OperationalError:
                raise
            except psycopg.Error:  # one bad submission must not stop the chunk: one by one
                registered = []
                for m in chunk:
                    try:
                        registered += register_submissions(conn, [m], state, dag_run_id)
                    except psycopg.OperationalError:
                        raise
                    except psycopg.Error as e:
                        _bad(conn, m.path, f"{m.path}: cannot be registered ({e.diag.message_primary or e}) "
                                           "(rule: submission_registrable)", state, dag_run_id)
            for ids in registered:
                batch_ids += ids
        submissions = [m.submission_id for m in manifests]
        outcomes = process_batches(conn, url, batch_ids, state, dag_run_id)
        if batch_ids:
            _analyze_ledger(conn)
        from include.ingest.feedback import report_submissions

        try:
            report_submissions(conn, submissions, state)
        except OSError as e:  # e.g. disk full: the outcomes are committed; the feedback is written next time
            log.error("feedback not written: %s", e.strerror or e)
        return outcomes


def _analyze_ledger(conn: psycopg.Connection) -> None:
    """Fresh planner statistics of the ledger, once a run has changed it. Every staging view joins its raw rows
    to ``ops.batch`` (accepted batches of one dataset), and ``build_warehouse`` runs right after an ingest.
    Autovacuum may have analyzed the ledger mid-run, when the datasets processed last had no accepted batch yet.
    The planner then expected a handful of rows where there were tens of thousands, and chose nested loops:
    on `small`, a full build right after an idle 48 s ingest took 755 s instead of ~100 s, with three entity
    models at 230-705 s each. Their SELECTs took 0.5 s once the ledger was analyzed (bench/README.md, "A full
    build right after an ingest"). Two small tables (18k batches on `small`); a failure (e.g. a role without the
    right) is one warning line."""
    try:
        conn.execute("analyze ops.submission, ops.batch")
    except psycopg.OperationalError:
        raise
    except psycopg.Error as e:
        log.warning("ledger statistics not refreshed: %s", e.diag.message_primary or e)


def _admissible(conn: psycopg.Connection, manifests: list[Manifest], state: StatePaths,
                dag_run_id: str | None) -> list[Manifest]:
    """The manifests that may be registered: a known institution (include/ingest/screen.py), and a
    submission id not already used by a different manifest."""
    unknown = unknown_institutions(conn, manifests)
    previous = dict(conn.execute(
        "select submission_id, manifest_sha256 from ops.submission where submission_id = any(%s)",
        ([m.submission_id for m in manifests],)).fetchall()) if manifests else {}
    out = []
    for m in manifests:
        if m.institution_code in unknown:
            _bad(conn, m.path, f"{m.path}: institution {m.institution_code} is not known: not admitted by the "
                               "regulator and no institution record delivered (rule: institution_known)",
                 state, dag_run_id)
        elif previous.get(m.submission_id, m.sha256) != m.sha256:
            _bad(conn, m.path, f"{m.path}: submission {m.submission_id} was already received with a different "
                               "manifest; deliver changes as a new version (rule: submission_id_reused)",
                 state, dag_run_id)
        else:
            out.append(m)
    return out


def _bad(conn: psycopg.Connection, manifest_path: Path, reason: str, state: StatePaths,
         dag_run_id: str | None) -> None:
    log.error("rejected submission %s: %s", manifest_path.parent.name, reason)
    _record_bad_manifest(conn, manifest_path, reason, state, dag_run_id)


def _record_bad_manifest(conn: psycopg.Connection, manifest_path: Path, reason: str, state: StatePaths,
                         dag_run_id: str | None) -> None:
    """An unreadable manifest is archived and logged in ops.bad_manifest; nothing is loaded. A
    manifest that cannot even be archived (a link, not a regular file) is logged under a digest of
    its path and the reason."""
    try:
        sha, archived = archive_file(manifest_path, state.archive)
    except LoadError:
        sha, archived = hashlib.sha256(f"unarchived\0{manifest_path}\0{reason}".encode()).hexdigest(), ""
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
