"""Typed tables: a landing batch (text columns) with a typed twin of every non-text column.

``landing.<table>_typed`` is an UNLOGGED table built in one parallel pass over the batch:
``_line``; every registry column as submitted (``''`` read as NULL, as the raw load does); for every
non-text column ``<column>__typed`` = ``case when ops.input_is_valid(c, '<pg_type>') then c::<pg_type>
end``, exactly what the raw load's cast produces, NULL where it would fail (dates as ISO text);
the rule flags of :func:`include.registry.expectations.row_flags` (per-row checks on personal
identifiers and check characters, true where the row fails) and of ``unique_flags`` (set by
:func:`mark_duplicates`), which those rules' UnexpectedRowsExpectations select by. GX
validates that table (``ops.input_is_valid`` is ``pg_input_is_valid`` on PostgreSQL 16+, a fallback on 14/15:
migration 080); why a table and not a view is told in :mod:`include.ingest.quality`.
"""

from __future__ import annotations

from include.registry.datasets import Dataset
from include.registry.ddl import q
from include.registry.expectations import (
    PERIOD_SUFFIX,
    TYPED_SUFFIX,
    _base_type,
    _sql_literal,
    reference_flags,
    row_flags,
    unique_flags,
)
from include.registry.shapes import shape_sql

#: what a row's ``<column>__period`` reads in a group's typed table (batches of different periods) where it
#: equals its own batch's submission period: the one value the period rule expects of such a table
OWN_PERIOD = "(the submission's period)"


def typed_table_name(table: str) -> str:
    return f"{table}_typed"


#: Stricter than PostgreSQL's input functions, which take 'today', 'epoch', '09/05/1992' or
#: 'Jan 5 1990' as dates and 'NaN' / 'Infinity' as numbers: the contract accepts ISO dates only and
#: finite numbers only (issue #14); anything else fails the column's ``type_<column>`` rule.
ISO_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
ISO_TIMESTAMP_PREFIX_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}"
NON_FINITE_RE = r"(nan|inf)"


def valid_sql(expr: str, pg_type: str) -> str:
    """SQL: is the text ``expr`` a valid value of ``pg_type`` under the contract?"""
    base = _base_type(pg_type)
    check = f"ops.input_is_valid({expr}, {_sql_literal(pg_type)})"  # pg_input_is_valid on 16+ (migration 080)
    # the shapes by LIKE and ltrim, exactly the regexes' answers at a fraction of their cost (shapes.py)
    if base == "date":
        return f"({shape_sql(expr, ISO_DATE_RE)} and {check})"
    if base.startswith("timestamp"):
        return f"({shape_sql(expr, ISO_TIMESTAMP_PREFIX_RE)} and {check})"
    if base in ("numeric", "double precision", "real", "float8", "float4"):
        return f"({expr} !~* '{NON_FINITE_RE}' and {check})"
    return check


def typed_table_sql(dataset: Dataset, table: str, *, batch_ids: list[int] | None = None,
                    typed_name: str | None = None) -> str:
    """``create unlogged table landing.<table>_typed as select ...`` over a text landing table.

    Columns: ``_line``; every registry column as submitted (``''`` read as NULL); for every non-text
    column its typed twin ``<column>__typed`` (NULL exactly where ``pg_input_is_valid`` is false;
    dates as ISO text); for the period_match column(s) ``<column>__period``, the typed twin but
    ``''`` where the value is missing, and, in a group's table (``batch_ids``), :data:`OWN_PERIOD` where it
    equals the row's own submission period. See the module docstring for why this is a table, not a view.
    """
    inner = ", ".join(f"nullif({q(c.name)}, '') as {q(c.name)}" for c in dataset.columns)
    # a group's typed table keeps each row's batch: promotion reads it (include/ingest/promote.py)
    outer = ["_batch_id", "_line"] if batch_ids else ["_line"]
    names = list(outer)
    for c in dataset.columns:
        outer.append(q(c.name))
        names.append(q(c.name))
        if c.pg_type == "text":
            continue
        typed = f"{q(c.name)}::{c.pg_type}"
        if _base_type(c.pg_type) == "date":
            typed = f"to_char({typed}, 'YYYY-MM-DD')"
        outer.append(f"case when {valid_sql(q(c.name), c.pg_type)} "
                     f"then {typed} end as {q(c.name + TYPED_SUFFIX)}")
        names.append(q(c.name + TYPED_SUFFIX))
    # the rules GX would otherwise evaluate by a full scan per query, twice (rows, then their count):
    # computed here once, in the same parallel pass; the duplicates by mark_duplicates afterwards
    flags = [*[(f"{pred}", flag) for flag, pred in row_flags(dataset)],
             *[("false", flag) for flag, _ in [*unique_flags(dataset), *reference_flags(dataset)]]]
    outer += [f"{expr} as {q(flag)}" for expr, flag in flags]
    # <column>__period: the typed twin, '' where the value is missing. A non-text column's twin is computed
    # once, below, and read here (the check and cast of every value were done twice); the subquery is kept
    # apart (offset 0: the planner would otherwise copy the twin's expression back in), so the casts and flags
    # still run in the parallel workers and only this null test runs above them.
    period = []  # (expression, column)
    for c in sorted({c for r in dataset.rules if r.kind == "period_match" for c in r.columns}):
        pg_type = dataset.column(c).pg_type
        if pg_type != "text":
            period.append((f"case when {q(c)} is null then '' else {q(c + TYPED_SUFFIX)} end", q(c + PERIOD_SUFFIX)))
            continue
        period.append((f"case when {q(c)} is null then '' when {valid_sql(q(c), pg_type)} then {q(c)} end",
                       q(c + PERIOD_SUFFIX)))
    where = f" where _batch_id = any(array[{', '.join(str(int(b)) for b in batch_ids)}]::bigint[])" if batch_ids else ""
    source = (f"(select {'_batch_id, _period, ' if batch_ids else ''}_line, {inner} from landing.{q(table)}{where}) "
              "as submitted")
    target = f"create unlogged table landing.{q(typed_name or typed_table_name(table))} as\n"
    if not period:
        return f"{target}select {', '.join(outer)}\nfrom {source}"
    if batch_ids:
        # a group's batches have different periods: each row's period is compared with its own submission's
        # (the landing row's _period), and where they agree it reads OWN_PERIOD, the one value the period
        # rule then expects; a wrong period keeps its value (and fails), even if it is another batch's period
        outer.append("_period")
        period = [(f"case when {e} = _period then {_sql_literal(OWN_PERIOD)} else {e} end", name) for e, name in period]
    period = [f"{e} as {name}" for e, name in period]
    final = [*names, *period, *(q(flag) for _, flag in flags)]
    return f"{target}select {', '.join(final)}\nfrom (select {', '.join(outer)}\nfrom {source} offset 0) as typed"



def batch_of_typed_sql(dataset: Dataset, source: str, columns: list[str], batch_id: int, typed_name: str) -> str:
    """``create unlogged table landing.<typed_name>`` holding one batch of the group typed table
    ``landing.<source>`` (``columns``: its columns): the casts, row flags and references flags as they
    are (row-local), the unique flags cleared (the group's were computed over every batch: a key may
    repeat across files); :func:`mark_duplicates` with ``references=False`` sets them for this batch."""
    unique = {flag for flag, _ in unique_flags(dataset)}
    cols = ", ".join(f"false as {q(c)}" if c in unique else q(c) for c in columns)
    return (f"create unlogged table landing.{q(typed_name)} as select {cols} from landing.{q(source)} "
            f"where _batch_id = {int(batch_id)}")


def mark_duplicates(conn, dataset: Dataset, typed_name: str, references: bool = True,
                    within: str | None = None) -> None:
    """Set the unique and (unless not ``references``) references rules' flags of ``landing.<typed_name>``
    (a SQLAlchemy connection, in the transaction that built it). Unique: true on every row whose key occurs
    more than once (with ``within``, e.g. ``_batch_id``: more than once in the same value of that column,
    i.e. each batch's own duplicates). One hash aggregate finds whether any key repeats (the usual answer
    is no: nothing else runs); if one does, the rows are flagged by the window
    ``count(*) over (partition by key) > 1``, exactly the rule."""
    typed = f"landing.{q(typed_name)}"
    for flag, key in unique_flags(dataset):
        cols = ", ".join(q(c) for c in ([within] if within else []) + key)
        if not _may_repeat(conn, typed, cols):
            continue
        conn.exec_driver_sql(
            f"update {typed} t set {q(flag)} = true from (select ctid as row_id from (select ctid, "
            f"count(*) over (partition by {cols}) as n from {typed}) as keyed where n > 1) as d "
            "where t.ctid = d.row_id")
    for flag, missing in reference_flags(dataset) if references else []:  # one anti-join pass: the offending rows
        conn.exec_driver_sql(f"update {typed} t set {q(flag)} = true where {missing}")


def _may_repeat(conn, typed: str, cols: str) -> bool:
    """Whether the key ``cols`` occurs more than once in ``typed`` (NULLs equal, as GROUP BY has it). First
    the 64-bit hashes of the keys (``hash_record_extended``: equal keys hash equal), sorted: a hash
    aggregate of a million keys (text triples) costs about twice as much. No hash repeats: no key repeats.
    Only if one does (a duplicate, or a collision) does ``group by <key> having count(*) > 1`` decide."""
    was = conn.exec_driver_sql("select current_setting('enable_hashagg')").scalar()
    conn.exec_driver_sql("set local enable_hashagg = off")
    hashed = conn.exec_driver_sql(f"select exists (select 1 from {typed} group by hash_record_extended(row({cols}), 0) "
                                  "having count(*) > 1)").scalar()
    conn.exec_driver_sql(f"set local enable_hashagg = {'on' if was == 'on' else 'off'}")
    return bool(hashed) and bool(conn.exec_driver_sql(f"select exists (select 1 from {typed} group by {cols} "
                                                      "having count(*) > 1)").scalar())


def _create_typed_table(engine, dataset: Dataset, table: str) -> int:
    """Build ``landing.<table>_typed``; return the number of rows in the batch."""
    typed = f"landing.{q(typed_table_name(table))}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"drop table if exists {typed}")
        # The casts are the expensive part and parallelise well, but the planner prices moving
        # wide rows through Gather so high that it builds the table single-threaded.
        conn.exec_driver_sql("set local parallel_tuple_cost = 0.001")
        rows = conn.exec_driver_sql(typed_table_sql(dataset, table)).rowcount
        mark_duplicates(conn, dataset, typed_table_name(table))
    return rows


def _drop_typed_table(engine, table: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"drop table if exists landing.{q(typed_table_name(table))}")

