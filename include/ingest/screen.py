"""Screens the loader runs before the quality gate (issue #14: hostile input).

* :func:`unknown_institutions` (per submission, before anything is archived or loaded): the
  submitting institution must be known (see migration 050 for who is known and how a new
  institution is admitted).
* :func:`screen_batch` (per file, right after its COPY into the landing table, inside the file's
  savepoint): an empty resubmission of a non-empty dataset is held for confirmation (quarantined).
* :func:`screen_rows` (every file of a group landing table at once, after all its COPYs): every row
  belongs to the submitting institution; no text longer than the registry's limit; identity fields
  of the institution record unchanged unless the manifest flags the change.

A violation raises :class:`LoadError` (the batch is rejected, or quarantined for
:class:`HoldForConfirmation`) naming the line, column and rule; values are never quoted raw.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from include.ingest.contract import Manifest
from include.ingest.files import LoadError
from include.privacy.masking import scrub
from include.registry.datasets import REGULATOR_CODE, Dataset

#: identity fields of the institution record: a change needs ``"identity_change": true`` in the manifest
IDENTITY_FIELDS = ("bureau_code", "licence_no", "uscc")


class HoldForConfirmation(LoadError):
    """The batch is quarantined (not rejected): it may be right, a person must confirm it."""

    status = "quarantined"


def unknown_institutions(conn: psycopg.Connection, manifests: list[Manifest]) -> set[str]:
    """Institution codes of ``manifests`` that are not known (rule: institution_known)."""
    codes = {m.institution_code for m in manifests} - {REGULATOR_CODE}
    introduced = {m.institution_code for m in manifests if any(f.dataset == "institution" for f in m.files)}
    codes -= introduced
    if not codes:
        return set()
    known = {r[0] for r in conn.execute(
        "select institution_code from ops.institution_register where institution_code = any(%(c)s) "
        "union select s.institution_code from ops.submission s join ops.batch b using (submission_id) "
        "where s.institution_code = any(%(c)s) and b.dataset = 'institution' "
        "and b.status in ('accepted', 'superseded', 'quarantined')", {"c": list(codes)})}
    return codes - known


def screen_batch(conn: psycopg.Connection, ds: Dataset, table: str, b: dict, rows: int) -> None:
    """The per-file screen, right after the file's COPY: an empty resubmission of a non-empty dataset is
    held (raises HoldForConfirmation). The row screens run for the whole group at once afterwards
    (:func:`screen_rows`)."""
    if rows == 0:
        _empty_resubmission(conn, ds, b)


def screen_rows(conn: psycopg.Connection, ds: Dataset, table: str, batches: list[dict]) -> dict[int, LoadError]:
    """The row screens of every non-empty batch of ``landing.<table>`` at once, one scan per screen (a
    query per file scanned the whole group table: quadratic). Returns {batch_id: the LoadError its
    own screen would raise}: the first failing screen in order (rows of the submitting institution,
    then length limits, then the institution record's identity fields), at its first offending line."""
    tbl = sql.Identifier("landing", table)
    ids = [b["batch_id"] for b in batches]
    out: dict[int, LoadError] = {}
    if not ids:
        return out
    if ds.submitter == "institution" and "institution_code" in ds.column_names:
        for bid, line, code, expected in conn.execute(sql.SQL(
                "select distinct on (l._batch_id) l._batch_id, l._line, l.institution_code, m.code "
                "from {} l join unnest(%s::bigint[], %s::text[]) as m(id, code) on l._batch_id = m.id "
                "where l.institution_code is distinct from m.code order by l._batch_id, l._line").format(tbl),
                (ids, [b["institution_code"] for b in batches])):
            out[bid] = LoadError(f"line {line + 1}: institution_code {scrub(code)!r} is not the submitting "
                                 f"institution {expected} (rule: row_institution_matches_manifest)")
    limited = [(c.name, c.length_limit) for c in ds.columns if c.length_limit]
    if limited:
        cond = sql.SQL(" or ").join(sql.SQL("length({}) > {}").format(sql.Identifier(n), sql.Literal(m))
                                    for n, m in limited)
        which = sql.SQL(", ").join(sql.SQL("case when length({}) > {} then {} end").format(
            sql.Identifier(n), sql.Literal(m), sql.Literal(n)) for n, m in limited)
        for bid, line, cols in conn.execute(sql.SQL(
                "select distinct on (_batch_id) _batch_id, _line, array_remove(array[{}], null) from {} "
                "where _batch_id = any(%s) and ({}) order by _batch_id, _line").format(which, tbl, cond),
                ([i for i in ids if i not in out],)):
            out.setdefault(bid, LoadError(f"line {line + 1}: column {cols[0]} is longer than "
                                          f"{dict(limited)[cols[0]]} characters (rule: max_length)"))
    if ds.name == "institution":
        for b in batches:
            if b["batch_id"] not in out and not (b["manifest"] or {}).get("identity_change"):
                try:
                    _identity_unchanged(conn, tbl, b)
                except LoadError as e:
                    out[b["batch_id"]] = e
    return out


def _empty_resubmission(conn: psycopg.Connection, ds: Dataset, b: dict) -> None:
    prior = conn.execute(
        "select nb.batch_id, nb.loaded_rows from ops.batch nb join ops.submission ns using (submission_id) "
        "where nb.dataset = %s and ns.institution_code = %s and ns.period = %s and ns.version < %s "
        "and nb.status = 'accepted' and nb.loaded_rows > 0 order by ns.version desc limit 1",
        (ds.name, b["institution_code"], b["period"], b["version"])).fetchone()
    if prior:
        raise HoldForConfirmation(
            f"the file has no data rows but version accepted as batch {prior[0]} has {prior[1]}; held until the "
            "institution confirms the dataset is really empty (rule: empty_resubmission)")


def _identity_unchanged(conn: psycopg.Connection, tbl: sql.Composed, b: dict) -> None:
    if conn.execute("select to_regclass('raw.institution')").fetchone()[0] is None:
        return
    last = conn.execute(
        "select " + ", ".join(IDENTITY_FIELDS) + " from raw.institution r join ops.batch ob "
        "on ob.batch_id = r._batch_id where ob.status = 'accepted' and r.institution_code = %s "
        "order by r._batch_id desc, r._line desc limit 1", (b["institution_code"],)).fetchone()
    if last is None:
        return
    differs = sql.SQL(" or ").join(sql.SQL("nullif({}, '') is distinct from {}").format(
        sql.Identifier(f), sql.Literal(v)) for f, v in zip(IDENTITY_FIELDS, last, strict=True))
    found = conn.execute(sql.SQL("select _line, array[{}] from {} where _batch_id = %s and ({}) "
                                 "order by _line limit 1").format(
        sql.SQL(", ").join(sql.Identifier(f) for f in IDENTITY_FIELDS), tbl, differs), (b["batch_id"],)).fetchone()
    if found:
        changed = [f for f, new, old in zip(IDENTITY_FIELDS, found[1], last, strict=True) if (new or None) != old]
        raise LoadError(f"line {found[0] + 1}: {', '.join(changed)} differs from the institution's accepted record; "
                        "an identity change must be flagged with \"identity_change\": true in the manifest "
                        "(rule: identity_change_flagged)")
