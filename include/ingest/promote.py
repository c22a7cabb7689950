"""Promotion: one transaction moves a validated group's clean batches into ``raw`` and failing ones
into ``quarantine`` (personal identifiers tokenised in both), records statuses, and supersedes
earlier versions of the same (institution, period, dataset).

Into ``raw``, each distinct identifier is tokenised once (:func:`token_table`) and the rows join the
tokens; into ``quarantine`` (few rows), row by row. Both use the same SQL, so the same tokens."""

from __future__ import annotations

import psycopg
from psycopg import sql

from include.config import StatePaths
from include.ingest.ledger import BatchOutcome, _events
from include.privacy.pseudonymise import key_id, load_key, sql_params, token_sql
from include.registry import ddl
from include.registry.datasets import Dataset
from include.registry.ddl import q
from include.registry.expectations import TYPED_SUFFIX


def promote_group(conn: psycopg.Connection, ds: Dataset, table: str, group: list[dict], passed: dict[int, bool],
                  loaded: dict[int, int], dag_run_id: str | None,
                  state: StatePaths | None = None, typed: tuple[str, set[int]] | None = None) -> list[BatchOutcome]:
    """One transaction: clean batches into raw, failing ones into quarantine (personal identifiers
    tokenised in both), statuses and supersession recorded, the landing table dropped. All of it
    or none of it. ``typed``: the group's typed table the gate kept (name, batch ids it holds): the
    clean batches it holds are read from it (already cast, see :func:`raw_insert`), dropped here too."""
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
            "and status = 'accepted' group by 1", (ds.name, [b["file_sha256"] for b in good]))}
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
                create_partition(conn, ds, period)
            held = typed[1] if typed else set()
            from_typed = [b["batch_id"] for b in good if b["batch_id"] in held]
            from_landing = [b["batch_id"] for b in good if b["batch_id"] not in held]
            if from_typed:
                raw_insert(conn, ds, typed[0], from_typed, pseudonym, typed=True)
            if from_landing:
                raw_insert(conn, ds, table, from_landing, pseudonym, typed=False)
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
        if typed:
            conn.execute(sql.SQL("drop table if exists {}").format(sql.Identifier("landing", typed[0])))
    return outcomes


def create_partition(conn: psycopg.Connection, ds: Dataset, period: str) -> None:
    """``raw.<dataset>``'s partition of ``period``, unless it exists, in the caller's transaction (created
    and filled in one transaction, it is written without WAL and fsynced at commit: wal_level minimal).

    Two shards promoting at once (a deployed ``ingest_submissions`` runs its mapped tasks side by side) may
    both find a period's partition missing: ``create table if not exists`` is not atomic, and the second
    one's insert into the catalogue waits for the first transaction, then fails ("already exists") once
    it commits. That failure, under a savepoint, means the partition is there now: the promotion goes on."""
    try:
        with conn.transaction():
            conn.execute(ddl.raw_partition_ddl(ds, period))
    except (psycopg.errors.DuplicateTable, psycopg.errors.UniqueViolation):
        pass


def token_table(conn: psycopg.Connection, ds: Dataset, source: str, batches: list[int], pseudonym: dict) -> str:
    """``landing.<source>_tokens`` (kind, v, t): the token of every distinct personal identifier of
    ``batches`` of ``landing.<source>`` (a landing or typed table), in the caller's transaction.

    A group's rows repeat few identifiers (the small world's 987,836 transactions hold 106,336
    distinct account numbers and names), so each keyed hash is computed once per distinct value, by
    the same SQL as row by row (:func:`include.privacy.pseudonymise.token_sql`, on the value as
    submitted), and the rows join it:
    the same tokens. ``''`` is never in it (a join miss, NULL, as token_sql gives)."""
    pii = [c for c in ds.columns if c.pii]
    name = f"{source}_tokens"
    tbl, values = f"landing.{q(name)}", f"landing.{q(name + '_v')}"
    ids = ", ".join(str(int(b)) for b in batches)
    # the distinct values first, each column's by its own (parallel) hash aggregate: a CREATE TABLE AS may
    # run in parallel, an INSERT may not; the keyed hash needs bound parameters, which only the INSERT takes
    distinct = " union all ".join(
        f"select distinct '{c.pii}' as kind, {q(c.name)} as v from landing.{q(source)} "
        f"where _batch_id = any(array[{ids}]::bigint[]) and {q(c.name)} <> ''" for c in pii)
    kinds = sorted({c.pii for c in pii})
    token = "case d.kind " + " ".join(f"when '{k}' then {token_sql('d.v', k)}" for k in kinds) + " end"
    conn.execute(f"drop table if exists {tbl}, {values}")
    conn.execute("set local parallel_tuple_cost = 0.001")
    conn.execute(f"create unlogged table {values} as select distinct * from ({distinct}) as a")
    conn.execute(f"create unlogged table {tbl} (kind text not null, v text not null, t text not null)")
    conn.execute(f"insert into {tbl} (kind, v, t) select d.kind, d.v, {token} from {values} d", pseudonym)
    conn.execute(f"drop table {values}")
    conn.execute(f"analyze {tbl}")  # the joins' sizes: hash joins, not nested loops
    return name


def raw_insert(conn: psycopg.Connection, ds: Dataset, source: str, batches: list[int], pseudonym: dict, *,
               typed: bool) -> None:
    """Insert ``batches`` of ``landing.<source>`` into ``raw.<dataset>``, personal identifiers replaced by
    their tokens (:func:`token_table`, joined once per identifier column).

    ``typed``: the source is the gate's typed table, whose typed twins are the values the landing
    table's casts give (include/ingest/typed.py; NULL only where the type rule failed, which a clean
    batch never does), so nothing is cast twice; else the landing table's text is cast here
    (:func:`include.registry.ddl.cast_text`: an empty string is NULL)."""
    tokens = token_table(conn, ds, source, batches, pseudonym) if any(c.pii for c in ds.columns) else None
    exprs, joins = [], []
    for i, c in enumerate(ds.columns):
        col = f"t.{q(c.name)}"
        if c.pii:
            joins.append(f"left join landing.{q(tokens)} k{i} on k{i}.kind = '{c.pii}' and k{i}.v = {col}")
            exprs.append(f"k{i}.t")
        elif not typed:
            exprs.append(ddl.cast_text(col, c.pg_type))
        elif c.pg_type == "text":
            exprs.append(col)
        else:
            exprs.append(f"t.{q(c.name + TYPED_SUFFIX)}::{c.pg_type}")
    cols = ", ".join(q(c) for c in ds.column_names)
    conn.execute(f"insert into raw.{q(ds.name)} ({cols}, _batch_id, _file_sha256, _line) select {', '.join(exprs)}, "
                 f"t._batch_id, b.file_sha256, t._line from landing.{q(source)} t "
                 f"join ops.batch b on b.batch_id = t._batch_id {' '.join(joins)} "
                 "where t._batch_id = any(%(batches)s)", {"batches": batches})
    if tokens:
        conn.execute(f"drop table landing.{q(tokens)}")


_SUPERSEDE_SQL = """
with g as (
    select * from unnest(%s::text[], %s::text[], %s::date[], %s::int[]) with ordinality as g(dataset, inst, period,
                                                                                            version, n)
), accepted as (  -- the accepted batches of the keys in hand, found by one join, not one lookup per batch
    select nb.batch_id, nb.dataset, ns.institution_code as inst, ns.period, ns.version
    from ops.batch nb join ops.submission ns using (submission_id)
    where nb.status = 'accepted'
      and (nb.dataset, ns.institution_code, ns.period) in (select dataset, inst, period from g)
)
select g.n, coalesce(bool_or(a.version > g.version), false) as newer,
       coalesce(array_agg(a.batch_id order by a.batch_id) filter (where a.version < g.version), '{}') as older
from g left join accepted a on a.dataset = g.dataset and a.inst = g.inst and a.period = g.period
group by g.n order by g.n
"""


def _supersede(conn: psycopg.Connection, promoted: list[tuple[dict, dict]], dag_run_id: str | None) -> list[str]:
    """Each of the ``promoted`` (batch, event detail) pairs (already in raw, in (institution, period,
    version) order) becomes accepted,
    or superseded at once if a later version is already accepted; an earlier accepted version of the
    same (institution, period, dataset) becomes superseded (it stays in raw). Records the events;
    returns the statuses in order. Set-based: one query and one status statement per round, where a
    round holds at most one batch per (institution, period, dataset) (a group of one version per key: one
    round; a resubmission's changed file sharing its original's group, loader._may_share: one round per
    version), so a batch sees every earlier one of the same key accepted, as one by one would."""
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

