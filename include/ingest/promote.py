"""Promotion: one transaction moves a validated group's clean batches into ``raw`` and failing ones
into ``quarantine`` (personal identifiers tokenised in both), records statuses, and supersedes
earlier versions of the same (institution, period, dataset)."""

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
    clean batches it holds are read from it (already cast, see :func:`typed_insert`), dropped here too."""
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
                conn.execute(ddl.raw_partition_ddl(ds, period))
            held = typed[1] if typed else set()
            from_typed = [b["batch_id"] for b in good if b["batch_id"] in held]
            from_landing = [b["batch_id"] for b in good if b["batch_id"] not in held]
            if from_typed:
                typed_insert(conn, ds, typed[0], from_typed, pseudonym)
            if from_landing:
                conn.execute(
                    sql.SQL("insert into raw.{} ({}, _batch_id, _file_sha256, _line) {}").format(
                        sql.Identifier(ds.name), cols, sql.SQL(ddl.typed_select(ds)).format(tbl)),
                    {"batches": from_landing, **pseudonym})
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


def typed_insert(conn: psycopg.Connection, ds: Dataset, typed: str, batches: list[int], pseudonym: dict) -> None:
    """Insert ``batches`` of the gate's typed table ``landing.<typed>`` into ``raw.<dataset>``.

    The typed twins are the values the landing table's casts give (include/ingest/typed.py; NULL only
    where the type rule failed, which a clean batch never does), so nothing is cast twice. Personal
    identifiers are tokenised by the same SQL as from the landing table
    (:func:`include.privacy.pseudonymise.token_sql`), so the tokens are the same."""
    exprs = []
    for c in ds.columns:
        col = f"t.{q(c.name)}"
        if c.pii:
            exprs.append(token_sql(col, c.pii))
        elif c.pg_type == "text":
            exprs.append(col)
        else:
            exprs.append(f"t.{q(c.name + TYPED_SUFFIX)}::{c.pg_type}")
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in ds.column_names)
    conn.execute(sql.SQL("insert into raw.{} ({}, _batch_id, _file_sha256, _line) select {}, t._batch_id, "
                         "b.file_sha256, t._line from {} t join ops.batch b on b.batch_id = t._batch_id "
                         "where t._batch_id = any(%(batches)s)").format(
        sql.Identifier(ds.name), cols, sql.SQL(", ".join(exprs)), sql.Identifier("landing", typed)),
        {"batches": batches, **pseudonym})


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

