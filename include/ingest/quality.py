"""The quality gate: a Great Expectations 1.x checkpoint on landing batches, pushed down to PostgreSQL.

The expectations are derived from the dataset registry (include/registry/datasets.py): every registry
:class:`~include.registry.datasets.Rule` becomes one or more GX expectations tagged with the rule's name,
severity and texts, plus one derived critical rule ``type_<column>`` per non-text column ("the value
can be cast to the column's registry type"). Results come back per rule (:class:`RuleResult`, one
row of ``ops.dq_result``) with at most 20 example rows, each identified by ``_line`` (the record's
number in the submitted file), personal identifiers masked (:mod:`include.privacy.masking`).

Rules become expectations in :mod:`include.registry.expectations`; this module runs them on
batches (:func:`validate_landing` for one, :func:`validate_group` for many at once), through the
process-wide runtime of :mod:`include.ingest.gx_runtime`, and :mod:`include.ingest.results` turns GX's
results into one :class:`RuleResult` per rule.


How a batch is validated
------------------------
Landing tables hold text (``landing.<dataset>_b<batch>``, include/registry/ddl.py). First
:func:`validate_landing` builds ``landing.<table>_typed`` (an UNLOGGED table, dropped afterwards)
in one parallel pass over the batch:

* ``_line`` and every registry column as submitted (``''`` read as NULL, as the raw load does);
* for every non-text column a typed twin ``<column>__typed`` =
  ``case when pg_input_is_valid(c, '<pg_type>') then c::<pg_type> end``, i.e. exactly what the raw
  load's cast produces, NULL where it would fail. Dates are rendered as ISO text (``YYYY-MM-DD``),
  which orders like the date and compares with the VARCHAR GX binds its parameters as.

GX then validates that table as a SQL table asset: every metric is a query PostgreSQL answers, no row
is pulled into pandas. Why a table and not a view: GX wraps the asset in sub-selects and repeats a
column once per predicate, so through a view every cast ran up to 3 times in each of GX's ~45
queries, and the planner, blind to how few rows break a rule, traded parallel scans for ``LIMIT 20``.
Materialised, the casts run once (in parallel) and each query is a plain scan.

Rules about *what was submitted* (not_null, in_set, regex, check characters) look at the text
columns, so a malformed amount is reported once, by ``type_<column>``, and not again as "missing";
rules about *values* (between, column_pair_le, ratio_between, unique keys, period_match) look at the
typed twins, where an uncastable value is simply NULL, so one bad cell never breaks the other rules.

================  ====================================================================================
kind              expectation
================  ====================================================================================
not_null          ExpectColumnValuesToNotBeNull, one per column
between           ExpectColumnValuesToBeBetween (typed twin)
in_set, regex     ExpectColumnValuesToBeInSet / ExpectColumnValuesToMatchRegex; on a personal
                  identifier the same check as an UnexpectedRowsExpectation that masks in SQL, reading
                  the flag ``_rule<i>__<column>`` the typed table's single pass computed
period_match      ExpectColumnValuesToBeInSet(value_set={"$PARAMETER": "period"}) on
                  ``<column>__period`` (the typed twin, ``''`` where missing, as NULLs are skipped):
                  one suite for every period; the submission's period is an expectation parameter (a
                  group's table reads OWN_PERIOD where a row's period is its own submission's, and
                  that is the parameter: include/ingest/typed.py)
column_pair_le    ExpectColumnPairValuesAToBeGreaterThanB(column_A=B, column_B=A, or_equal=True)
unique            UnexpectedRowsExpectation selecting the rows whose flag ``_rule<i>__dup`` is set: the
                  typed table's build sets it where ``count(*) over (partition by key) > 1`` (typed
                  twins; :func:`include.ingest.typed.mark_duplicates`, once, not in each of GX's two
                  queries; on a group's table per batch, ``partition by _batch_id, key``).
                  ExpectCompoundColumnsToBeUnique returns no ``_line`` and was 2.5x slower
uscc, resident_id UnexpectedRowsExpectation calling ops.uscc_valid / ops.resident_id_valid /
lei               ops.lei_valid (migration 003)
ratio_between     UnexpectedRowsExpectation on num / den (typed twins)
references        UnexpectedRowsExpectation: anti-join against raw/quarantine of the referenced datasets
reconciles        UnexpectedRowsExpectation: join to the accepted detail's sums per institution and period
type_<column>     UnexpectedRowsExpectation: submitted but not castable (``c is not null and
                  c__typed is null``, i.e. ``not pg_input_is_valid(c, '<pg_type>')``)
================  ====================================================================================

Two passes, both real checkpoint runs on the same batch:

1. *screen*: the whole suite with result format ``BOOLEAN_ONLY``. GX then computes every column-map
   expectation as one term of a single bundled aggregate query, instead of three queries each (the
   count, then the offending values, then their index rows); a clean batch, the usual case, is done.
2. *details*, only if something failed: the failed expectations alone, as a suite of their own, with
   :data:`RESULT_FORMAT` (COMPLETE, ``unexpected_index_column_names=["_line"]``,
   ``partial_unexpected_count=20``), which yields the counts and up to 20 offending rows each.

Every offending row is reported with its ``_line``: column-map expectations through the index
columns, UnexpectedRowsExpectations because their queries select ``_line``. Values of personal
identifiers are masked inside those queries, and personal columns never go through a column-map
expectation that could quote them, so no raw identifier reaches GX's stored results or Data Docs.

Which GX context
----------------
``expectations/`` is the committed GX *file* project (:func:`include.registry.gx_project.write_project`):
one suite per dataset, a postgres data source ``landing`` (``${SUPERVISION_LOADER_URL}``, no secret in the
repository), one table asset, validation definition and details checkpoint ``<dataset>_landing`` per
dataset; uuid5 ids, so regenerating an unchanged registry changes nothing. The gate does not run that
file context (it would write each per-batch asset and result into the repository) but the ephemeral
context of :mod:`include.ingest.gx_runtime`, built by the same functions from the same registry;
tests/test_quality.py proves the committed suites and checkpoints equal them.
Measured costs per batch are in bench/README.md ("Quality gate").
"""

from __future__ import annotations

import logging
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from include.config import private_files
from include.ingest import combined
from include.ingest.gx_runtime import _LOCK, _Runtime, _runtime
from include.ingest.results import RuleResult, ValidationOutcome, _rule_results, _summarise, with_rows
from include.ingest.typed import (
    OWN_PERIOD,
    _create_typed_table,
    _drop_typed_table,
    mark_duplicates,
    typed_table_name,
    typed_table_sql,
)
from include.registry.datasets import Dataset
from include.registry.ddl import q
from include.registry.expectations import quality_rules

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult

__all__ = ["RuleResult", "ValidationOutcome", "quality_rules", "validate_group", "validate_landing"]

log = logging.getLogger(__name__)


def validate_landing(url: str, table: str, dataset: Dataset, period: str, *,
                     docs_dir: Path | None = None, build_index: bool = True) -> ValidationOutcome:
    """Validate the landing batch ``landing.<table>`` of ``dataset`` for the submission ``period``.

    ``url`` is the SQLAlchemy URL of the loader role; ``period`` the submission's period as an ISO
    date (``YYYY-MM-DD``) or a date. Runs the dataset's suite on the batch's typed table as a GX
    checkpoint, in two passes (see the module docstring): a screening run, and for the expectations
    that failed a second run collecting the offending lines. With ``docs_dir``, Data Docs there are
    updated with the final run's pages, and their index page unless ``build_index`` is false (a group
    builds it once at its end: the index reads every stored result, so once per batch is quadratic).
    The batch passes when no critical rule fails; an expectation that cannot be evaluated counts as
    failed (and is logged). Raises if the landing table does not exist or ``period`` is not a date.
    Thread-safe (calls in one process are serialised; the GX objects are shared).
    """
    t0 = time.perf_counter()
    period = date.fromisoformat(str(period)).isoformat()  # a date or an ISO date string
    with _LOCK, private_files():
        rt = _runtime()
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        engine = rt.datasource(url).get_engine()
        rows = _create_typed_table(engine, dataset, table)
        try:
            slot = rt.slot(url, dataset, typed_table_name(table))
            site = rt.site(docs_dir) if docs_dir is not None else None
            run_id = RunIdentifier(run_name=f"{table}-{period}")
            screened = rt.run(slot.screen, [period], run_id)
            ((key, screen),) = screened.run_results.items()
            failed = [r for r in screen.results if not r.success]
            details: list[ExpectationValidationResult] = []
            if failed:
                ((_, detail),) = rt.details(slot, failed, period, run_id, site, build_index).run_results.items()
                details = list(detail.results)
            elif site:
                # The suite's own page only once per site and process: it does not change.
                pages = [key] + ([] if (site, dataset.name) in rt.suite_pages
                                 else [ExpectationSuiteIdentifier(name=screen.suite_name)])
                rt.context.build_data_docs(site_names=[site], resource_identifiers=pages, build_index=build_index)
                rt.suite_pages.add((site, dataset.name))
        finally:
            _drop_typed_table(engine, table)
    rule_results = _summarise(dataset, list(screen.results), details, rows)
    outcome = ValidationOutcome(
        batch_table=table,
        results=rule_results,
        passed=not any(not r.success and r.severity == "critical" for r in rule_results),
        seconds=time.perf_counter() - t0,
        data_docs_path=str(Path(docs_dir) / "index.html") if docs_dir is not None else None,
    )
    log.info("validated landing.%s (%s, period %s, %d rows): %s in %.2fs; critical failures: %s; warnings: %s",
             table, dataset.name, period, rows, "passed" if outcome.passed else "FAILED", outcome.seconds,
             [r.rule_name for r in outcome.critical_failures] or "none",
             [r.rule_name for r in outcome.warnings] or "none")
    return outcome


# Groups of batches: one screen for many files

#: Below this many batches, a range whose two halves both fail is validated batch by batch.
DENSE_RANGE = 8
#: attribution carries a row's batch in its line number: batch id * this + line (bigint holds it)
_LINE_SCALE = 10_000_000_000


class _GroupValidation:
    """Bisection over the batches of one group landing table (see :func:`validate_group`)."""

    def __init__(self, rt: _Runtime, url: str, table: str, dataset: Dataset,
                 members: dict[int, tuple[str, int]], docs_dir: Path | None) -> None:
        self.rt, self.url, self.table, self.dataset, self.members = rt, url, table, dataset, members
        self.docs_dir = docs_dir
        self.engine = rt.datasource(url).get_engine()
        self.site = rt.site(docs_dir) if docs_dir is not None else None
        self.docs = str(Path(docs_dir) / "index.html") if docs_dir is not None else None
        self.t0 = time.perf_counter()
        self.out: dict[int, ValidationOutcome] = {}
        self.index_stale = False
        #: the group's typed table kept for promotion, and the batches it holds
        self.kept: tuple[str, set[int]] | None = None
        #: the last screen's results (every expectation), and those it found failing
        self.results: list[ExpectationValidationResult] = []
        self.failed: list[ExpectationValidationResult] = []

    def build_index(self) -> None:
        """The Data Docs index page, once for the whole group (its pages were built without it)."""
        if not (self.site and self.index_stale):
            return
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        # one page must be named, or GX rebuilds every page of the site: the dataset's suite page (cheap)
        self.rt.context.build_data_docs(site_names=[self.site], build_index=True,
                                        resource_identifiers=[ExpectationSuiteIdentifier(name=self.dataset.name)])
        self.index_stale = False

    def _drop(self, name: str, view: bool = False) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f"drop {'view' if view else 'table'} if exists landing.{q(name)}")

    @staticmethod
    def _columns(conn, table: str) -> list[str]:
        # the catalogue itself, not information_schema.columns (a view of joins and privilege checks: ~3 ms)
        return [r[0] for r in conn.exec_driver_sql(
            f"select attname from pg_attribute where attrelid = to_regclass('landing.{q(table)}') and attnum > 0 "
            "and not attisdropped order by attnum")]

    def single(self, batch_id: int) -> None:
        """Full per-batch validation (counts and offending lines) of one batch."""
        single_table = f"{self.table}_b{batch_id}"
        self._drop(single_table)
        cols = ", ".join(q(c.name) for c in self.dataset.columns)
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f"create unlogged table landing.{q(single_table)} as select _line, {cols} "
                                 f"from landing.{q(self.table)} where _batch_id = {int(batch_id)}")
        try:
            self.out[batch_id] = validate_landing(self.url, single_table, self.dataset, self.members[batch_id][0],
                                                  docs_dir=self.docs_dir, build_index=False)
            self.index_stale = True
        finally:
            self._drop(single_table)

    def screen(self, ids: list[int], keep: bool = False,
               view: bool = False) -> list[ExpectationValidationResult] | None:
        """The screen's results if every expectation held for ``ids``, else None. With ``keep``, the typed
        table is kept (``self.kept``) for promotion. With ``view``, ``ids`` are read through a view of the
        kept table (cast already; its unique flags are each batch's own, as a fresh table's) instead of a
        new typed table. The unique flags are set per batch (``within="_batch_id"``): the screen is exact
        per batch for every kind, also where two versions of one (institution, period) share the group."""
        from great_expectations.core.run_identifier import RunIdentifier

        typed = f"{self.table}_{'v' if view else 's'}{ids[0]}_{len(ids)}"
        self._drop(typed, view)
        with self.engine.begin() as conn:
            if view:
                self.kept_view(conn, typed, ids)
            else:
                conn.exec_driver_sql("set local parallel_tuple_cost = 0.001")
                conn.exec_driver_sql(typed_table_sql(self.dataset, self.table, batch_ids=ids, typed_name=typed))
                # each batch's own duplicates (a key may repeat across files: two versions of one period)
                mark_duplicates(conn, self.dataset, typed, within="_batch_id")
        try:
            slot = self.rt.slot(self.url, self.dataset, typed)
            # each row's period was compared with its own submission's in the typed table (OWN_PERIOD)
            result = self.rt.run(slot.screen, [OWN_PERIOD], RunIdentifier(run_name=f"{typed}-{len(ids)}-batches"))
            ((key, res),) = result.run_results.items()
            self.results = list(res.results)
            self.failed = [r for r in res.results if not r.success]
            if res.success and self.site:
                self.rt.context.build_data_docs(site_names=[self.site], resource_identifiers=[key], build_index=False)
                self.index_stale = True
            return list(res.results) if res.success else None
        except BaseException:
            keep = False
            raise
        finally:
            if keep:
                self.kept = (typed, set(ids))
            else:
                self._drop(typed, view)

    def kept_view(self, conn, name: str, ids: list[int]) -> None:
        """``landing.<name>``: a view of the kept typed table holding only the batches ``ids`` (the caller
        drops it)."""
        assert self.kept is not None and set(ids) <= self.kept[1]
        conn.exec_driver_sql(f"create view landing.{q(name)} as select * from landing.{q(self.kept[0])} "
                             f"where _batch_id = any(array[{', '.join(str(int(i)) for i in ids)}]::bigint[])")

    def detail(self, ids: list[int], screened: list[ExpectationValidationResult]) -> None:
        """Per-batch results of failing batches of the kept table (``screened``: its screen's results). What
        that screen passed holds in each batch (rules are row-local or per institution and period, which no
        two batches of a group share; a row's period is compared with its own submission's, OWN_PERIOD);
        what it failed runs once over all these batches together and is split per batch, or, for rules that
        cannot be split, on each batch alone, one checkpoint built once (:func:`include.ingest.combined.detail`).
        With Data Docs: :meth:`single` each."""
        if self.site:
            for batch_id in ids:
                self.single(batch_id)
            return
        combined.detail(self, ids, screened)

    def attribute(self, ids: list[int]) -> set[int]:
        """The batches of the kept typed table (holding ``ids``) where an expectation the group screen
        found failing fails, found set-based instead of by bisection: column-map expectations by one
        details run over the whole table with ``_batch_id`` as index column; our SQL expectations
        (UnexpectedRowsExpectation) by their own query, once over the whole table.
        A hint only: the caller validates these batches one by one and confirms the rest with a screen."""
        from great_expectations.core.run_identifier import RunIdentifier

        assert self.kept is not None
        typed = self.kept[0]
        found: set[int] = set()
        rows_sql = [r for r in self.failed if r.expectation_config.type == "unexpected_rows_expectation"]
        column_map = [r for r in self.failed if r.expectation_config.type != "unexpected_rows_expectation"]
        with self.engine.begin() as conn:
            # Each query runs once over the whole table, its rows' batch carried in _line (batch * SCALE +
            # line): run once per batch, a references or reconciles rule re-read the raw tables it joins
            # for every batch (minutes for a 1,000-batch loan group). A hint, as said: a batch it names
            # that passes alone passes, one it misses fails the confirming screen.
            others = [c for c in self._columns(conn, typed) if c != "_line"]
            batch = (f"(select _batch_id * {_LINE_SCALE} + _line as _line, {', '.join(q(c) for c in others)} "
                     f"from landing.{q(typed)})")
            for r in rows_sql:
                query = r.expectation_config.kwargs["unexpected_rows_query"].format(batch=batch)
                found |= {int(row[0]) for row in conn.exec_driver_sql(
                    f"select distinct _line / {_LINE_SCALE} from ({query}) as u")}
        if column_map:
            slot = self.rt.slot(self.url, self.dataset, typed)
            fmt = {"result_format": "COMPLETE", "unexpected_index_column_names": ["_batch_id"],
                   "partial_unexpected_count": 100_000, "return_unexpected_index_query": False}
            ((_, detail),) = self.rt.details(slot, column_map, [OWN_PERIOD],
                                             RunIdentifier(run_name=f"{typed}-attribute"), None,
                                             result_format=fmt).run_results.items()
            for r in detail.results:
                if not r.success and not (r.result or {}).get("unexpected_index_list") and \
                        (r.result or {}).get("unexpected_count"):
                    return set(ids)  # no rows to attribute by: every batch is a suspect
                found |= {int(row["_batch_id"]) for row in (r.result or {}).get("unexpected_index_list") or []}
        return found & set(ids)

    def _passed(self, ids: list[int], passed: list[ExpectationValidationResult]) -> None:
        took = time.perf_counter() - self.t0
        summary = _rule_results(self.dataset, passed, [])  # the same for every batch but its row count
        for i in ids:
            results = with_rows(summary, self.members[i][1])
            self.out[i] = ValidationOutcome(batch_table=f"{self.table}[{i}]", results=results, passed=True,
                                            seconds=took, data_docs_path=self.docs)

    def solve(self, ids: list[int], known_failing: bool = False) -> None:
        """Screen ``ids`` together (unless ``known_failing``: its screen already failed); on failure screen
        each half, and go on with the failing halves, down to single batches. When both halves of a range
        of at most :data:`DENSE_RANGE` batches fail, failures are dense there (a rule failing in every
        month of one institution, e.g. loans of customers whose file was rejected): its batches are
        validated one by one at once instead of through ever smaller screens that would all fail too."""
        if not ids:
            return
        if len(ids) == 1:
            self.single(ids[0])
            return
        if not known_failing:
            passed = self.screen(ids)
            if passed is not None:
                self._passed(ids, passed)
                return
        half = len(ids) // 2
        failing = []
        for part in (ids[:half], ids[half:]):
            if len(part) == 1:
                failing.append(part)  # its single validation decides
                continue
            passed = self.screen(part)
            if passed is None:
                failing.append(part)
            else:
                self._passed(part, passed)
        if len(failing) == 2 and len(ids) <= DENSE_RANGE:
            for part in failing:
                for i in part:
                    self.single(i)
            return
        for part in failing:
            self.solve(part, known_failing=len(part) > 1)


def _failing_group(group: _GroupValidation, ids: list[int]) -> None:
    """A group whose screen (over the kept typed table) failed. Usually decided by one run: the failed
    expectations over the kept table, split per batch (:func:`include.ingest.combined.whole_group`).
    Where that cannot be done (a kind that cannot be split, Data Docs, a result that does not split): a
    batch alone is validated alone; otherwise the failing batches found set-based
    (:meth:`_GroupValidation.attribute`) are validated one by one (:meth:`_GroupValidation.detail`), the
    others screened together again through a view of the kept table (GX confirms them; if that screen
    fails too, they are bisected as before). If the attribution itself fails, the group is bisected."""
    screened = group.results
    if combined.whole_group(group, ids, screened):
        return
    if len(ids) == 1:
        group.single(ids[0])
        return
    try:
        failing = group.attribute(ids)
    except Exception as e:  # a hint only: never let it decide anything
        log.warning("%s: failing batches not attributed (%s); bisecting", group.table, str(e).splitlines()[0][:200])
        failing = set(ids)
    if not failing or failing == set(ids):
        group.solve(ids, known_failing=True)
        return
    group.detail(sorted(failing), screened)
    rest = [i for i in ids if i not in failing]
    passed = group.screen(rest, view=True)
    if passed is not None:
        group._passed(rest, passed)
    else:
        group.solve(rest, known_failing=len(rest) > 1)


def validate_group(url: str, table: str, dataset: Dataset, members: dict[int, tuple[str, int]], *,
                   docs_dir: Path | None = None, kept: list | None = None) -> dict[int, ValidationOutcome]:
    """:func:`validate_group_keep`; with ``kept`` (a list), the group screen's typed table is kept and
    ``(name, batch ids)`` appended to it, else it is dropped."""
    out, typed = validate_group_keep(url, table, dataset, members, docs_dir=docs_dir)
    if typed and kept is not None:
        kept.append(typed)
    elif typed:
        drop_kept(url, typed[0])
    return out


def drop_kept(url: str, typed: str) -> None:
    """Drop a typed table :func:`validate_group_keep` kept."""
    with _LOCK, private_files():
        with _runtime().datasource(url).get_engine().begin() as conn:
            conn.exec_driver_sql(f"drop table if exists landing.{q(typed)}")


def validate_group_keep(url: str, table: str, dataset: Dataset, members: dict[int, tuple[str, int]], *,
                        docs_dir: Path | None = None
                        ) -> tuple[dict[int, ValidationOutcome], tuple[str, set[int]] | None]:
    """Validate every batch of a group landing table (``_batch_id``, ``_period`` columns; see
    include/registry/ddl.py). ``members``: batch id -> (submission period, row count).

    The whole group is screened by one GX checkpoint run (pass/fail only). Its typed table compares each
    row's period with its own submission's (:data:`include.ingest.typed.OWN_PERIOD`, the period parameter
    of every run on a group's table), so a batch whose period column is wrong fails there, even with
    another batch's period. If every expectation holds, every batch passes with the screen's results.
    Where it fails, one details run of the failed expectations over the same table, split per batch,
    decides every batch (:func:`include.ingest.combined.whole_group`; the queries GX's details run would
    send, sent without GX where they can be, :func:`include.ingest.combined.own_results`); where that cannot
    be done, the failing batches are found set-based (:meth:`_GroupValidation.attribute`), each runs the
    failed expectations (counts and offending lines, :meth:`_GroupValidation.detail`), and the others are
    screened together once more, so GX itself passes every batch that passes. Only if that screen fails
    too (or nothing could be attributed) is the group bisected, down to single batches.

    Returns the outcomes and the group screen's typed table, kept (``landing.<name>``, with the batch
    ids it holds, every batch of the group) for promotion to read instead of casting the
    landing table again; the caller drops it (:func:`drop_kept`, or with the landing table).
    """
    t0 = time.perf_counter()
    with _LOCK, private_files():
        group = _GroupValidation(_runtime(), url, table, dataset, members, docs_dir)
        rest = sorted(members)
        try:
            if rest:
                passed = group.screen(rest, keep=True)
                if passed is not None:
                    group._passed(rest, passed)
                else:
                    _failing_group(group, rest)
            group.build_index()
        except BaseException:
            if group.kept:
                group._drop(group.kept[0])
            raise
    out = group.out
    failed = sorted(i for i, o in out.items() if not o.passed)
    log.info("validated %d %s batches in landing.%s in %.2fs; failing: %s", len(members), dataset.name, table,
             time.perf_counter() - t0, failed or "none")
    return out, group.kept
