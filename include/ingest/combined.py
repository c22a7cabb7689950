"""The failing batches of a group in one GX details run, its results split per batch.

A group whose screen failed used to run the failed expectations once per failing batch (a typed table
of the batch, then a checkpoint run): hundreds of runs for the demo's loan groups, where the warning
``loan_customer_known`` fails in every month of an institution whose customer file was rejected. Here
one typed table holds every failing batch (``_batch_id`` kept), its unique flags computed per batch
(:func:`include.ingest.typed.mark_duplicates` with ``within="_batch_id"``), and ONE details checkpoint
runs the failed expectations on it:

* column-map expectations (not_null, between, in_set, regex, column_pair_le) with result format
  COMPLETE and ``unexpected_index_column_names = ["_batch_id", "_line"]``: every offending row comes
  back with its batch and line, so each batch's unexpected count is the number of its rows in the index
  list and its examples are its lowest lines;
* our SQL expectations (UnexpectedRowsExpectation) with the rule's own query run over the table with
  each row's batch carried in ``_line`` (``batch * SCALE + line``, as the attribution does), grouped by
  batch: one result row per batch with its count and its lowest 20 lines and values. Grouped, because
  GX fetches at most ``MAX_RESULT_RECORDS`` rows of such a query (batches are run in chunks of that
  many), and a plain list of rows would be cut there.

Each batch's element count is its row count in the typed table. This is exact only for rules that are
decided row by row (or per key within one batch: the unique flags, set per batch): every kind of the
registry, ``period_match`` included, since a group's typed table compares each row's period with its own
submission's (:data:`include.ingest.typed.OWN_PERIOD`); :func:`combinable` says whether a group's failed
expectations qualify (a kind added later may not), and the caller otherwise runs them batch by batch.
``tests/test_quality.py`` and ``tests/test_quality_combined.py`` check that each failing batch gets
exactly the per-rule results (success, element and unexpected counts, examples with lines) it gets when
validated alone.

A whole failing group (:func:`whole_group`, the usual case) no longer asks GX for that details run: the
queries it would send (each column-map expectation's offending rows under GX's own condition, each SQL
expectation's per-batch query) are sent directly over the kept typed table (:func:`own_results`), and
the results GX would have built from them are split the same way. GX's run remains where they cannot be
had so (another GX release, a kind not restated, a failing query), and for :func:`detail`.
"""

from __future__ import annotations

import copy
import logging
import time
from typing import TYPE_CHECKING, Any

from include.ingest.results import RuleResult, ValidationOutcome, _rule_results, _summarise, with_rows
from include.ingest.typed import OWN_PERIOD, batch_of_typed_sql, mark_duplicates
from include.registry.datasets import Dataset
from include.registry.ddl import q
from include.registry.expectations import (
    MAX_EXAMPLES,
    PERIOD_PARAMETER,
    RESULT_FORMAT,
    unique_flags,
)

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult

log = logging.getLogger(__name__)

#: a row's batch carried in its line number: batch id * this + line (bigint holds it)
SCALE = 10_000_000_000
#: rule kinds whose expectations are decided row by row (unique: per key within the batch, flagged per
#: batch; period_match: each row's period against its own submission's, include/ingest/typed.py OWN_PERIOD)
ROW_LOCAL_KINDS = frozenset({"not_null", "between", "in_set", "regex", "column_pair_le", "unique", "uscc",
                             "resident_id", "lei", "ratio_between", "references", "reconciles", "type",
                             "period_match"})
_ROWS = "unexpected_rows_expectation"
#: GX limits a column-map expectation's index list (SQL) to partial_unexpected_count rows: no limit here
ALL_ROWS = 2**31 - 1
#: the combined run's result format: every offending row of a column-map expectation, with its batch
COMBINED_FORMAT: dict[str, Any] = {**RESULT_FORMAT, "unexpected_index_column_names": ["_batch_id", "_line"],
                                   "partial_unexpected_count": ALL_ROWS}


def combinable(failed: list[ExpectationValidationResult]) -> bool:
    """Whether every one of ``failed`` can be run over many batches at once and split per batch."""
    return all(r.expectation_config.meta.get("kind") in ROW_LOCAL_KINDS for r in failed)


def chunk_size() -> int:
    """At most this many batches per combined run: one result row per batch of each SQL expectation,
    and GX fetches at most MAX_RESULT_RECORDS of them."""
    from great_expectations.constants import MAX_RESULT_RECORDS

    return MAX_RESULT_RECORDS


def combined_table_sql(dataset: Dataset, source: str, columns: list[str], ids: list[int], name: str) -> str:
    """``create unlogged table landing.<name>`` holding the batches ``ids`` of the group typed table
    ``landing.<source>`` (``columns``: its columns), the unique flags cleared (``mark_duplicates`` with
    ``within="_batch_id"`` sets them per batch); casts, row and references flags as they are (row-local)."""
    unique = {flag for flag, _ in unique_flags(dataset)}
    cols = ", ".join(f"false as {q(c)}" if c in unique else q(c) for c in columns)
    batches = ", ".join(str(int(i)) for i in ids)
    return (f"create unlogged table landing.{q(name)} as select {cols} from landing.{q(source)} "
            f"where _batch_id = any(array[{batches}]::bigint[])")


def per_batch_query(query: str, columns: list[str]) -> str:
    """An UnexpectedRowsExpectation's query (``_line``, ``value`` per offending row, reading ``{batch}``)
    run over a table of many batches: one row per batch with ``_n`` (its offending rows), ``_lines`` and
    ``_values`` (its lowest MAX_EXAMPLES lines, in order). The rule's own query is unchanged; it reads
    the rows with their batch carried in ``_line``."""
    others = ", ".join(q(c) for c in columns if c != "_line")
    carried = f"(select _batch_id * {SCALE} + _line as _line, {others} from {{batch}}) as _carried"
    inner = query.replace("{batch}", carried)
    return (f"select _line / {SCALE} as _batch_id, count(*) as _n, "
            f"(array_agg(_line % {SCALE} order by _line))[1:{MAX_EXAMPLES}] as _lines, "
            f"(array_agg(value order by _line))[1:{MAX_EXAMPLES}] as _values "
            f"from ({inner}) as _u group by 1")


class _Failed:
    """What the details checkpoint reads of a failed result: its expectation's configuration."""

    def __init__(self, expectation_config) -> None:
        self.expectation_config = expectation_config


def combined_expectations(failed: list[ExpectationValidationResult], columns: list[str]) -> list[_Failed]:
    """The failed expectations as the combined run runs them: SQL expectations grouped per batch
    (:func:`per_batch_query`), column-map expectations as they are (the result format adds the batch)."""
    out = []
    for r in failed:
        cfg = r.expectation_config
        if cfg.type == _ROWS:
            cfg = copy.deepcopy(cfg)
            kwargs = dict(cfg.kwargs)
            kwargs["unexpected_rows_query"] = per_batch_query(kwargs["unexpected_rows_query"], columns)
            cfg.kwargs = kwargs
        out.append(_Failed(cfg))
    return out


def split(failed: list[ExpectationValidationResult], combined: list[ExpectationValidationResult],
          rows: dict[int, int]) -> dict[int, list[ExpectationValidationResult]] | None:
    """The combined run's results as each batch's own (``rows``: batch id -> its row count), keyed by the
    ``failed`` expectations' configurations. None if any result cannot be split (an exception, a
    column-map result without its index list, counts that do not add up): then run batch by batch."""
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult

    by_identity = {_identity(r.expectation_config): r for r in combined}
    out: dict[int, list[ExpectationValidationResult]] = {i: [] for i in rows}
    for f in failed:
        cfg = f.expectation_config
        r = by_identity.get(_identity(cfg))
        if r is None or _raised(r):
            return None
        result = r.result or {}
        per_batch = _rows_per_batch(result) if cfg.type == _ROWS else _index_per_batch(result)
        if per_batch is None or not set(per_batch) <= set(rows):
            return None
        for i, n in rows.items():
            count, examples = per_batch.get(i, (0, []))
            if cfg.type == _ROWS:
                res = {"observed_value": count, "details": {"unexpected_rows": examples}}
            else:
                res = {"element_count": n, "unexpected_count": count, "partial_unexpected_index_list": examples}
            out[i].append(ExpectationValidationResult(success=count == 0, expectation_config=cfg, result=res))
    return out


def _identity(cfg) -> tuple:
    return cfg.meta["rule"], tuple(cfg.meta["columns"]), cfg.type, str(cfg.kwargs.get("column"))


def _raised(r: ExpectationValidationResult) -> bool:
    info = r.exception_info or {}
    return any(c.get("raised_exception") for c in [info, *(v for v in info.values() if isinstance(v, dict))])


def _rows_per_batch(result: dict) -> dict[int, tuple[int, list[dict]]] | None:
    rows = (result.get("details") or {}).get("unexpected_rows")
    if rows is None or len(rows) != result.get("observed_value"):
        return None
    return {int(r["_batch_id"]): (int(r["_n"]), [{"_line": int(line), "value": value}
                                                 for line, value in zip(r["_lines"], r["_values"], strict=True)])
            for r in rows}


def _index_per_batch(result: dict) -> dict[int, tuple[int, list[dict]]] | None:
    index = result.get("unexpected_index_list")
    count = int(result.get("unexpected_count") or 0)
    if index is None or len(index) != count:
        return None
    grouped: dict[int, list[dict]] = {}
    for row in index:
        grouped.setdefault(int(row["_batch_id"]), []).append(row)
    return {i: (len(g), sorted(g, key=lambda row: int(row["_line"]))[:MAX_EXAMPLES]) for i, g in grouped.items()}


def detail(group, ids: list[int], screened: list[ExpectationValidationResult]) -> None:
    """``group`` (an ``include.ingest.quality._GroupValidation`` whose kept typed table holds ``ids``): the
    expectations its screen failed (``screened``: that screen's results), run on the batches ``ids`` in
    combined runs of at most :func:`chunk_size` batches when :func:`combinable`, else (or where a combined
    run cannot be split) on each batch alone, one checkpoint built once. Records ``group.out[i]``."""
    from great_expectations.core.run_identifier import RunIdentifier

    failed = [r for r in screened if not r.success]
    kept = group.kept[0]
    with group.engine.begin() as conn:  # each batch's rows are read from the kept table, by an index
        columns = group._columns(conn, kept)
        conn.exec_driver_sql(f"create index if not exists {q(kept + '_batch')} on landing.{q(kept)} (_batch_id)")
    rest = ids
    if combinable(failed):
        size = chunk_size()
        rest = [i for n in range(0, len(ids), size) if not _together(group, ids[n:n + size], screened, columns)
                for i in ids[n:n + size]]
    if not rest:
        return
    with group.rt.details_checkpoint(group.rt.slot(group.url, group.dataset, kept), failed) as run:
        for batch_id in rest:
            t0 = time.perf_counter()
            typed, period = f"{group.table}_d{batch_id}", group.members[batch_id][0]
            group._drop(typed)
            with group.engine.begin() as conn:
                conn.exec_driver_sql(batch_of_typed_sql(group.dataset, kept, columns, batch_id, typed))
                mark_duplicates(conn, group.dataset, typed, references=False)
            try:
                group.rt.slot(group.url, group.dataset, typed)  # re-points the checkpoint's asset
                # copied from the group's table: its rows' periods read OWN_PERIOD where they are the submission's
                ((_, res),) = run([OWN_PERIOD], RunIdentifier(run_name=f"{typed}-{period}")).run_results.items()
            finally:
                group._drop(typed)
            _outcome(group, batch_id, typed, screened, list(res.results), t0)


def whole_group(group, ids: list[int], screened: list[ExpectationValidationResult]) -> bool:
    """Every batch of a failing group decided by ONE details run: the expectations the group screen failed
    (``screened``: its results), run once over the group's kept typed table (which holds exactly ``ids``)
    with each offending row's batch, split per batch (:func:`split`). A batch with no offending row passes
    with the screen's results; one with any gets its counts and lines, as :func:`detail` gives it. What the
    screen passed holds in each batch (see :meth:`include.ingest.quality._GroupValidation.detail`).

    The attribution run, the copy of the failing batches, their details run and the confirming screen of
    the others (four runs, two tables) become one run on a table that exists already; a group of one batch
    (a resubmission's) no longer validates it again from scratch (issue #17: a defective world cost 2.2x a
    clean one per file on `tiny`, now ~1.5x; bench/README.md). Applies, without Data Docs, to one batch
    whatever failed, and to many when every failed expectation is row-local (:func:`combinable`; a failed
    unique rule: the kept table's duplicate flags are each batch's own, set so by the screen); returns
    False (nothing recorded) otherwise, or if the run cannot be split, and the caller takes the longer way.
    The run is :func:`own_results` (the details run's queries without GX: no GX run beyond the screen, no
    cap on rows) wherever it applies; otherwise GX's details run, where an SQL expectation failing in more
    than :func:`chunk_size` batches (GX returns at most that many of its rows, one per batch here: such a
    group used to take the longer way) runs again, alone, in chunks of that many batches
    (:func:`_cut_in_chunks`); all split, or nothing recorded."""
    from great_expectations.core.run_identifier import RunIdentifier

    failed = [r for r in screened if not r.success]
    # one batch: its own duplicate flags too, so every kind splits
    if group.site or group.kept is None or group.kept[1] != set(ids) or not failed or (
            len(ids) > 1 and not combinable(failed)):
        return False
    t0 = time.perf_counter()
    kept = group.kept[0]
    with group.engine.begin() as conn:
        # the kept table's unique flags are each batch's own already (the screen set them with within="_batch_id")
        columns = group._columns(conn, kept)
        rows = {int(b): int(n) for b, n in conn.exec_driver_sql(
            f"select _batch_id, count(*) from landing.{q(kept)} group by 1")}
    own = own_results(group, kept, failed, columns)
    if own is not None:  # no GX details run: the same queries GX would run, our own (see own_results)
        return _record(group, kept, ids, screened, split(failed, own, {i: rows.get(i, 0) for i in ids}), t0,
                       quiet=True)
    slot = group.rt.slot(group.url, group.dataset, kept)
    with group.rt.details_checkpoint(slot, combined_expectations(failed, columns),
                                     result_format=COMBINED_FORMAT) as run:
        ((_, res),) = run([OWN_PERIOD], RunIdentifier(run_name=f"{kept}-{len(ids)}-whole")).run_results.items()
    results = list(res.results)
    # GX returns at most chunk_size() rows of an SQL expectation, one per batch here: one failing in more batches
    # comes back cut, and runs again in chunks of that many batches (a group used to take the longer way)
    by_identity = {_identity(r.expectation_config): r for r in results}
    cut = [f for f in failed
           if f.expectation_config.type == _ROWS and _is_cut(by_identity.get(_identity(f.expectation_config)))]
    per_batch = split([f for f in failed if all(f is not c for c in cut)], results, {i: rows.get(i, 0) for i in ids})
    if cut and per_batch is not None:
        per_batch = _cut_in_chunks(group, kept, ids, failed, cut, columns, rows, per_batch)
    return _record(group, kept, ids, screened, per_batch, t0, quiet=True)


#: the GX release whose SQL conditions :func:`_unexpected_condition` restates (and whose queries
#: :func:`own_results` runs): another release takes GX's details run
OWN_GX_VERSION = "1.24.1"
_NOT_NULL, _IN_SET, _BETWEEN = ("expect_column_values_to_not_be_null", "expect_column_values_to_be_in_set",
                                "expect_column_values_to_be_between")
_REGEX, _PAIR = "expect_column_values_to_match_regex", "expect_column_pair_values_a_to_be_greater_than_b"


def _unexpected_condition(cfg) -> tuple[Any, list[str]] | None:
    """A column-map expectation's offending rows as GX 1.24.1 selects them on PostgreSQL (its map metrics'
    ``_sqlalchemy`` condition, negated, nulls left out where GX leaves them out: ``column_condition_partial``,
    ``column_pair_condition_partial``, ``get_domain_records`` for ``ignore_row_if``), and the domain columns
    it returns with each row; None for anything else (another kind, ``mostly``, a row condition, strict
    bounds), which GX's details run then takes."""
    import sqlalchemy as sa

    kwargs = dict(cfg.kwargs)
    if kwargs.get("mostly", 1) != 1 or kwargs.get("row_condition") or kwargs.get("strict_min") or \
            kwargs.get("strict_max"):
        return None
    if cfg.type == _PAIR:
        a, b = kwargs["column_A"], kwargs["column_B"]
        if kwargs.get("ignore_row_if", "both_values_are_missing") != "both_values_are_missing":
            return None
        col_a, col_b = sa.column(a), sa.column(b)
        expected = (sa.or_(col_a >= col_b, sa.and_(col_a == None, col_b == None))  # noqa: E711 (GX's)
                    if kwargs.get("or_equal") else col_a > col_b)
        both_missing = sa.and_(col_a == None, col_b == None)  # noqa: E711 (GX's)
        return sa.and_(sa.not_(both_missing), sa.not_(expected)), [a, b]
    column = kwargs.get("column")
    if column is None:
        return None
    col = sa.column(column)
    if cfg.type == _NOT_NULL:
        return sa.not_(col != None), [column]  # noqa: E711 (GX's; not_null does not filter nulls)
    if cfg.type == _IN_SET:
        values = kwargs.get("value_set")
        if isinstance(values, dict) and values.get("$PARAMETER") == PERIOD_PARAMETER:
            values = [OWN_PERIOD]  # the period parameter of every run on a group's table
        if not isinstance(values, list | tuple | set) or not values:
            return None
        expected = col.in_(list(values))
    elif cfg.type == _BETWEEN:
        lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
        if lo is None or hi is None or lo > hi:
            return None
        expected = sa.and_(col >= sa.literal(lo), col <= sa.literal(hi))
    elif cfg.type == _REGEX:
        expected = sa.BinaryExpression(col, sa.literal(kwargs["regex"]), sa.custom_op("~"))
    else:
        return None
    return sa.and_(sa.not_(col.is_(None)), sa.not_(expected)), [column]


def own_results(group, kept: str, failed: list[ExpectationValidationResult], columns: list[str]
                ) -> list[ExpectationValidationResult] | None:
    """The ``failed`` expectations' results over the whole kept table ``landing.<kept>`` as GX's combined
    details run gives them (:data:`COMBINED_FORMAT`), from the queries that run would send, sent here
    without GX: no details suite, validation definition and checkpoint to build, check and remove, no
    metric graph (issue #17 item 5: a failing group's second GX run was most of what a defective batch
    cost more than a clean one; bench/README.md, branch ``gate14``).

    * column-map expectations: the offending rows with ``_batch_id``, ``_line`` and the domain column(s)
      (:func:`_unexpected_condition`), all of them (GX's index list, its limit :data:`ALL_ROWS`), their
      count the unexpected count;
    * our SQL expectations: the rule's query grouped per batch (:func:`per_batch_query`), ``{batch}`` the
      kept table, as GX formats it, every row (GX fetched at most ``chunk_size()``: no chunks needed).

    None (GX's details run decides, as before) where a result cannot be had this way: another GX release,
    an expectation :func:`_unexpected_condition` does not restate, a screen result that raised, or a query
    that fails."""
    import sqlalchemy as sa
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult

    if getattr(group.rt.gx, "__version__", None) != OWN_GX_VERSION or any(_raised(r) for r in failed):
        return None
    plans = []
    for f in failed:
        cfg = f.expectation_config
        if cfg.type == _ROWS:
            plans.append((cfg, None, per_batch_query(cfg.kwargs["unexpected_rows_query"], columns)))
            continue
        found = _unexpected_condition(cfg)
        if found is None:
            return None
        plans.append((cfg, found, None))
    table = sa.table(kept, schema="landing")
    out = []
    try:
        with group.engine.begin() as conn:
            for cfg, found, query in plans:
                if query is not None:  # GX: str.format(batch=<the asset's table>), then sa.text
                    rows = [r._asdict() for r in conn.execute(sa.text(query.format(batch=f"landing.{kept}")))]
                    out.append(ExpectationValidationResult(success=not rows, expectation_config=cfg, result={
                        "observed_value": len(rows), "details": {"unexpected_rows": rows}}))
                    continue
                condition, domain = found
                names = ["_batch_id", "_line", *domain]
                select = sa.select(*(sa.column(c) for c in names)).select_from(table).where(condition)
                index = [dict(zip(names, row, strict=True)) for row in conn.execute(select)]
                out.append(ExpectationValidationResult(success=not index, expectation_config=cfg, result={
                    "unexpected_count": len(index), "unexpected_index_list": index}))
    except sa.exc.SQLAlchemyError as e:
        log.debug("%s: the failed expectations not run without GX (%s); GX's details run instead", kept,
                  str(e).splitlines()[0][:200])
        return None
    return out


def _is_cut(r: ExpectationValidationResult | None) -> bool:
    """Whether an SQL expectation's result holds fewer rows than its query found (GX's cap)."""
    rows = ((r.result or {}).get("details") or {}).get("unexpected_rows") if r is not None else None
    return rows is not None and len(rows) < int((r.result or {}).get("observed_value") or 0)


def _cut_in_chunks(group, kept: str, ids: list[int], failed: list, cut: list, columns: list[str],
                   rows: dict[int, int], per_batch: dict[int, list[ExpectationValidationResult]]
                   ) -> dict[int, list[ExpectationValidationResult]] | None:
    """The ``cut`` SQL expectations (of ``failed``) run again over the kept table in chunks of
    :func:`chunk_size` batches, each through a view of it (by an index on the batch), one checkpoint; each
    chunk split per batch and merged into ``per_batch`` (the others' results, split already), every batch's
    results in the order of ``failed``. None if a chunk cannot be split."""
    from great_expectations.core.run_identifier import RunIdentifier

    size = chunk_size()
    if len(ids) <= size:
        return None  # not cut by the cap: something else
    with group.engine.begin() as conn:
        conn.exec_driver_sql(f"create index if not exists {q(kept + '_batch')} on landing.{q(kept)} (_batch_id)")
    found: dict[int, list[ExpectationValidationResult]] = {i: [] for i in ids}
    with group.rt.details_checkpoint(group.rt.slot(group.url, group.dataset, kept), combined_expectations(cut, columns),
                                     result_format=COMBINED_FORMAT) as run:
        for n in range(0, len(ids), size):
            chunk = ids[n:n + size]
            view = f"{kept}_w{chunk[0]}_{len(chunk)}"
            group._drop(view, view=True)
            with group.engine.begin() as conn:
                group.kept_view(conn, view, chunk)
            try:
                group.rt.slot(group.url, group.dataset, view)  # re-points the checkpoint's asset
                ((_, res),) = run([OWN_PERIOD], RunIdentifier(run_name=f"{view}-{len(chunk)}-whole")
                                  ).run_results.items()
            finally:
                group._drop(view, view=True)
            part = split(cut, list(res.results), {i: rows.get(i, 0) for i in chunk})
            if part is None:
                return None
            found.update(part)
    order = [_identity(f.expectation_config) for f in failed]
    out = {}
    for i in ids:
        mine = {_identity(r.expectation_config): r for r in [*per_batch[i], *found[i]]}
        out[i] = [mine[k] for k in order]
    return out


def _together(group, ids: list[int], screened: list[ExpectationValidationResult], columns: list[str]) -> bool:
    """The failed expectations run once over the batches ``ids`` together and split per batch; False
    (nothing recorded) if the results cannot be split."""
    from great_expectations.core.run_identifier import RunIdentifier

    t0 = time.perf_counter()
    failed = [r for r in screened if not r.success]
    typed = f"{group.table}_c{ids[0]}_{len(ids)}"
    group._drop(typed)
    with group.engine.begin() as conn:
        conn.exec_driver_sql(combined_table_sql(group.dataset, group.kept[0], columns, ids, typed))
        mark_duplicates(conn, group.dataset, typed, references=False, within="_batch_id")
        rows = {int(b): int(n) for b, n in conn.exec_driver_sql(
            f"select _batch_id, count(*) from landing.{q(typed)} group by 1")}
    try:
        slot = group.rt.slot(group.url, group.dataset, typed)
        with group.rt.details_checkpoint(slot, combined_expectations(failed, columns),
                                         result_format=COMBINED_FORMAT) as run:
            ((_, res),) = run([OWN_PERIOD], RunIdentifier(run_name=f"{typed}-{len(ids)}-batches")).run_results.items()
    finally:
        group._drop(typed)
    return _record(group, typed, ids, screened, split(failed, list(res.results), {i: rows.get(i, 0) for i in ids}),
                   t0)


def _record(group, typed: str, ids: list[int], screened: list[ExpectationValidationResult],
            per_batch: dict[int, list[ExpectationValidationResult]] | None, t0: float, quiet: bool = False) -> bool:
    """Each batch's outcome from a combined run's results split per batch; False (nothing recorded) when
    the run could not be split (``quiet``: the caller has another way, say nothing), so that the caller
    validates the batches another way. A batch without an offending row gets the results its own would
    give (:func:`include.ingest.results._summarise`: counts 0, no examples, its row count), summarised once
    for all such batches of the run (a thousand-batch group paid a summary per batch)."""
    if per_batch is None:
        log.log(logging.DEBUG if quiet else logging.WARNING,
                "%s: the combined run could not be split per batch; validating them another way", typed)
        return False
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult

    held: list[RuleResult] | None = None  # what every batch without an offending row gets, but its row count
    for i in ids:
        details = per_batch[i]
        if not all(r.success for r in details):
            _outcome(group, i, f"{group.table}[{i}]", screened, details, t0)
            continue
        if held is None:  # as its own results give it: counts 0, no examples, the row count where GX gave one
            held = _rule_results(group.dataset, screened, [ExpectationValidationResult(
                success=True, expectation_config=r.expectation_config, result={}) for r in details])
        results = with_rows(held, group.members[i][1])
        group.out[i] = ValidationOutcome(batch_table=f"{group.table}[{i}]", results=results,
                                         seconds=time.perf_counter() - t0,
                                         passed=not any(not r.success and r.severity == "critical" for r in results))
    return True


def _outcome(group, batch_id: int, name: str, screened: list[ExpectationValidationResult],
             details: list[ExpectationValidationResult], t0: float) -> None:
    period, rows = group.members[batch_id]
    results = _summarise(group.dataset, screened, details, rows)
    out = group.out[batch_id] = ValidationOutcome(
        batch_table=name, results=results, seconds=time.perf_counter() - t0,
        passed=not any(not r.success and r.severity == "critical" for r in results))
    log.info("validated batch %d of landing.%s (%s, period %s, %d rows): %s in %.2fs; critical failures: %s; "
             "warnings: %s", batch_id, group.table, group.dataset.name, period, rows,
             "passed" if out.passed else "FAILED", out.seconds,
             [r.rule_name for r in out.critical_failures] or "none", [r.rule_name for r in out.warnings] or "none")
