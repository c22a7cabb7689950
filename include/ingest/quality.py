"""The quality gate: a Great Expectations 1.x checkpoint on one landing batch, pushed down to PostgreSQL.

The expectations are derived from the dataset registry (include/datasets.py): every registry
:class:`~include.datasets.Rule` becomes one or more GX expectations tagged with the rule's name,
severity and texts, plus one derived critical rule ``type_<column>`` per non-text column ("the value
can be cast to the column's registry type"). Results come back per rule (:class:`RuleResult`, one
row of ``ops.dq_result``) with at most 20 example rows, each identified by ``_line`` (the record's
number in the submitted file), personal identifiers masked (include/ingest/masking.py).

How a batch is validated
------------------------
Landing tables hold text (``landing.<dataset>_b<batch>``, include/ingest/ddl.py). First
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
                  identifier the same check as an UnexpectedRowsExpectation that masks in SQL
period_match      ExpectColumnValuesToBeInSet(value_set={"$PARAMETER": "period"}) on
                  ``<column>__period`` (the typed twin, ``''`` where missing, as NULLs are skipped):
                  one suite for every period; the submission's period is an expectation parameter
column_pair_le    ExpectColumnPairValuesAToBeGreaterThanB(column_A=B, column_B=A, or_equal=True)
unique            UnexpectedRowsExpectation, ``count(*) over (partition by key) > 1`` (typed twins):
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
``expectations/`` is the committed GX *file* project, written by :func:`write_project` from the
registry: one suite per dataset (``expectations/expectations/<dataset>.json``), a postgres data source
``landing`` whose connection string is ``${SUPERVISION_LOADER_URL}`` (no secret in the repository),
one table asset per dataset (table ``landing.<dataset>_typed``: a template, a batch is a new table
each time) and per dataset a validation definition and a checkpoint ``<dataset>_landing`` with the
details result format (one pass; a person running it wants the offending rows). Ids are uuid5s, so
regenerating an unchanged registry changes nothing.

:func:`validate_landing` does **not** run the file context: every batch is a new table, and the file
context would write each per-batch asset into ``great_expectations.yml`` and each result into the
repository. It runs a process-wide *ephemeral* context built by the same functions from the same
registry (:func:`build_suite`, :data:`RESULT_FORMAT`), and tests/test_quality.py proves that the
committed suites and checkpoints equal them and that regenerating the project changes no file, so
the two cannot drift. Everything GX needs is built once per process and reused: the context (about
4 s, mostly importing GX), one data source per database URL (its SQLAlchemy engine and connection
pool), and per dataset the suite, a table asset, its batch definition, a validation definition and
the screening checkpoint; each batch only re-points the asset at its typed table. Validation results
are stored as JSON under the state directory (``include.config.paths().gx_results / "validations"``)
and Data Docs, when asked for, are written to ``docs_dir`` (the index lists the latest
:data:`DOCS_INDEX_LIMIT` runs: it re-reads every listed result on each update); neither ever goes into
the repository.

Measured (2 vCPU VM, embedded PostgreSQL 16, capital_report, medians): once per process 3.1 s to
import GX and build the context, 0.3 s for the first batch of a dataset. Per batch of 10 rows: 0.14 s
clean, 0.31 s with failures (two passes), 0.40 s clean with Data Docs; that is GX's own bookkeeping
(building the metric graph, freshness checks, storing the result). A clean 1M-row batch: 5.5 s
(``select count(*)``: 0.05 s), of which about 2 s build the typed table (8 casts per row), 1.6 s the
uniqueness window, 1.2 s the 8 type rules; 1M rows that all break rules: 8.8 s. Before these choices
(a view, COMPLETE results for everything, GX's compound-unique expectation): 0.33 s and 24 s.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy

from include.config import GX_ROOT, paths
from include.datasets import DATASETS, Dataset, Rule
from include.ingest.ddl import q
from include.ingest.masking import mask, mask_sql

if TYPE_CHECKING:
    import great_expectations as gx_types
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult

log = logging.getLogger(__name__)

#: the expectation parameter carrying the submission's period (ISO date text, e.g. "2024-03-31")
PERIOD_PARAMETER = "period"
#: suffix of the typed twin of a non-text column in the typed table
TYPED_SUFFIX = "__typed"
#: suffix of the column period_match checks: the typed period, '' where none was submitted
PERIOD_SUFFIX = "__period"
#: at most this many example rows per rule
MAX_EXAMPLES = 20
#: result format of the screening pass: success only, so GX computes each column-map expectation's
#: count in one bundled aggregate query and nothing else
SCREEN_RESULT_FORMAT: dict[str, Any] = {"result_format": "BOOLEAN_ONLY"}
#: result format of the details pass (and of the committed checkpoints): up to 20 offending rows
#: per expectation, identified by _line
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": ["_line"],
    "partial_unexpected_count": MAX_EXAMPLES,
    "return_unexpected_index_query": False,
}
#: the Data Docs index lists this many most recent validations (older pages stay on disk, and
#: ops.dq_result keeps every result)
DOCS_INDEX_LIMIT = 25
#: name of the postgres data source (runtime and committed)
DATASOURCE = "landing"
#: environment variable the committed project reads the loader's SQLAlchemy URL from
URL_ENV = "SUPERVISION_LOADER_URL"

#: settings of the gate's own sessions: the uniqueness window sorts every key of the batch; with the
#: default 4MB of work_mem a 1M-row batch sorts on disk
_SESSION_OPTIONS = "-c work_mem=64MB"
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://supervision.invalid/gx")
_CHECK_FUNCTIONS = {"uscc": "ops.uscc_valid", "resident_id": "ops.resident_id_valid", "lei": "ops.lei_valid"}
_TYPE_ZH = {"numeric": "数值", "date": "日期", "smallint": "整数", "integer": "整数", "bigint": "整数",
            "boolean": "布尔值", "timestamp": "时间", "timestamptz": "时间"}


def _gx():
    """Import great_expectations lazily (it takes seconds) with usage statistics off."""
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    import great_expectations as gx

    return gx


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


@dataclass
class RuleResult:
    """What one registry rule found in one batch (one row of ``ops.dq_result``)."""

    rule_name: str
    expectation_type: str
    severity: str  # 'critical' | 'warning'
    success: bool
    element_count: int | None
    unexpected_count: int | None
    #: at most 20 offending rows: {"line": int, "column": str, "value": masked str | None}
    examples: list[dict] = field(default_factory=list)
    description_en: str = ""
    description_zh: str = ""
    #: set when an expectation could not be evaluated (the rule then counts as failed)
    error: str | None = None


@dataclass
class ValidationOutcome:
    """The gate's verdict on one landing batch."""

    batch_table: str
    results: list[RuleResult]
    passed: bool  # no critical rule failed
    seconds: float
    data_docs_path: str | None = None

    @property
    def critical_failures(self) -> list[RuleResult]:
        return [r for r in self.results if not r.success and r.severity == "critical"]

    @property
    def warnings(self) -> list[RuleResult]:
        return [r for r in self.results if not r.success and r.severity == "warning"]


# --------------------------------------------------------------------------------------------------
# Rules -> expectations
# --------------------------------------------------------------------------------------------------


def _base_type(pg_type: str) -> str:
    return pg_type.split("(")[0].strip().lower()


def type_rules(dataset: Dataset) -> tuple[Rule, ...]:
    """The derived ``type_<column>`` rules: one critical rule per non-text column."""
    rules = []
    for c in dataset.columns:
        if c.pg_type == "text":
            continue
        zh_type = _TYPE_ZH.get(_base_type(c.pg_type), c.pg_type)
        rules.append(Rule(
            name=f"type_{c.name}", kind="type", columns=(c.name,), severity="critical",
            params={"pg_type": c.pg_type},
            en=f"{c.en or c.name} must be a valid {c.pg_type}",
            zh=f"{c.zh or c.name}须为有效的{zh_type}（{c.pg_type}）",
        ))
    return tuple(rules)


def quality_rules(dataset: Dataset) -> tuple[Rule, ...]:
    """Every rule the gate checks: the registry's rules, then the derived type rules."""
    return dataset.rules + type_rules(dataset)


def _typed(dataset: Dataset, column: str) -> str:
    """Name of the column to use for value comparisons in the typed table."""
    return column if dataset.column(column).pg_type == "text" else column + TYPED_SUFFIX


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _unexpected_rows(select: str) -> str:
    # GX substitutes {batch} with str.format: braces of our own must be doubled.
    return select.replace("{", "{{").replace("}", "}}").replace("{{batch}}", "{batch}")


def _rows(select: str):
    """An UnexpectedRowsExpectation whose query returns ``_line`` and ``value`` per offending row."""
    return _gx().expectations.UnexpectedRowsExpectation(unexpected_rows_query=_unexpected_rows(select))


def _expectations_for(dataset: Dataset, rule: Rule) -> list[tuple[Any, tuple[str, ...]]]:
    """The GX expectations implementing ``rule``, each with the registry column(s) it reports."""
    E = _gx().expectations
    k, p = rule.kind, rule.params
    out: list[tuple[Any, tuple[str, ...]]] = []
    if k == "not_null":
        for c in rule.columns:
            out.append((E.ExpectColumnValuesToNotBeNull(column=c), (c,)))
    elif k == "unique":
        # Not ExpectCompoundColumnsToBeUnique: GX returns no _line for the offending rows of a
        # multicolumn expectation (no unexpected_index_list), and its SQL joins every row to the group
        # counts; this window is precise and measured 2.5x faster on 1M rows.
        cols = [q(_typed(dataset, c)) for c in rule.columns]
        key = " || ' | ' || ".join(
            f"coalesce({mask_sql(f'{col}::text', dataset.column(c).pii)}, 'NULL')"
            for c, col in zip(rule.columns, cols, strict=True))
        out.append((_rows(
            f"select _line, {key} as value from ("
            f"select _line, {', '.join(cols)}, count(*) over (partition by {', '.join(cols)}) as n "
            f"from {{batch}}) as keyed where n > 1"), rule.columns))
    elif k == "between":
        for c in rule.columns:
            out.append((E.ExpectColumnValuesToBeBetween(
                column=_typed(dataset, c), min_value=p.get("min"), max_value=p.get("max")), (c,)))
    elif k in ("in_set", "regex"):
        for c in rule.columns:
            pii = dataset.column(c).pii
            if not pii and k == "in_set":
                exp = E.ExpectColumnValuesToBeInSet(column=_typed(dataset, c), value_set=list(p["values"]))
            elif not pii:
                exp = E.ExpectColumnValuesToMatchRegex(column=c, regex=p["pattern"])
            else:
                # A personal identifier: GX would quote offending values verbatim in its results and
                # Data Docs, so the same check is written in SQL that masks them.
                values = ", ".join(_sql_literal(str(v)) for v in p.get("values", ()))
                bad = (f"not ({q(c)} = any(array[{values}]::text[]))" if k == "in_set"
                       else f"{q(c)} !~ {_sql_literal(p['pattern'])}")
                exp = _rows(f"select _line, {mask_sql(q(c), pii)} as value from {{batch}} "
                            f"where {q(c)} is not null and {bad}")
            out.append((exp, (c,)))
    elif k == "period_match":
        # On <column>__period: the typed value, '' where nothing was submitted (column-map
        # expectations skip NULLs, and a missing period does not equal the submission's).
        for c in rule.columns:
            out.append((E.ExpectColumnValuesToBeInSet(
                column=c + PERIOD_SUFFIX, value_set={"$PARAMETER": PERIOD_PARAMETER}), (c,)))
    elif k == "column_pair_le":
        a, b = rule.columns
        out.append((E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=_typed(dataset, b), column_B=_typed(dataset, a), or_equal=True), (a, b)))
    elif k in _CHECK_FUNCTIONS:
        for c in rule.columns:
            out.append((_rows(
                f"select _line, {mask_sql(q(c), dataset.column(c).pii)} as value from {{batch}} "
                f"where {q(c)} is not null and not {_CHECK_FUNCTIONS[k]}({q(c)})"), (c,)))
    elif k == "ratio_between":
        num, den = q(_typed(dataset, p["num"])), q(_typed(dataset, p["den"]))
        lo, hi = float(p["min"]), float(p["max"])
        out.append((_rows(
            f"select _line, ({num} / {den})::text as value from {{batch}} "
            f"where {den} <> 0 and not ({num} / {den} between {lo!r} and {hi!r})"),
            (p["num"], p["den"])))
    elif k == "references":
        (c,) = rule.columns
        out.append((_rows(references_sql(dataset, rule)), (c,)))
    elif k == "reconciles":
        (c,) = rule.columns
        out.append((_rows(reconciles_sql(dataset, rule)), (c,)))
    elif k == "type":
        (c,) = rule.columns
        # The twin is NULL exactly where pg_input_is_valid(c, pg_type) is false (typed_table_sql):
        # "submitted, but not castable to the registry type".
        out.append((_rows(
            f"select _line, {mask_sql(q(c), dataset.column(c).pii)} as value from {{batch}} "
            f"where {q(c)} is not null and {q(c + TYPED_SUFFIX)} is null"), (c,)))
    else:
        raise ValueError(f"dataset {dataset.name!r}, rule {rule.name!r}: unknown rule kind {k!r}")
    return out


def references_sql(dataset: Dataset, rule: Rule) -> str:
    """Offending rows of a ``references`` rule (see include/datasets.py, Rule): the value is found
    neither in ``raw`` nor in ``quarantine`` of the referenced datasets, same institution, period
    equal (``same``) or not later (``up_to``)."""
    (c,) = rule.columns
    p = rule.params
    target = q(p["target_column"])
    period = q(_typed(dataset, dataset.period_column))
    op = "=" if p.get("period", "up_to") == "same" else "<="
    found = []
    for ref in p["datasets"]:
        ref_period = q(DATASETS[ref].period_column)
        found.append(f"select 1 from raw.{q(ref)} r where r.institution_code = t.institution_code "
                     f"and r.{target} = t.{q(c)} and r.{ref_period} {op} t.{period}::date")
        found.append(f"select 1 from quarantine.{q(ref)} r where r.institution_code = t.institution_code "
                     f"and r.{target} = t.{q(c)} and r.{ref_period} {op} t.{period}")
    missing = " and ".join(f"not exists ({f})" for f in found)
    value = mask_sql(f"t.{q(c)}", dataset.column(c).pii)
    return (f"select t._line, {value} as value from (select * from {{batch}}) as t "
            f"where t.{q(c)} is not null and t.{period} is not null and {missing}")


def reconciles_sql(dataset: Dataset, rule: Rule) -> str:
    """Offending rows of a ``reconciles`` rule: the reported figure differs from the accepted detail's
    sum for the same institution and period by more than the tolerance (see Rule)."""
    (c,) = rule.columns
    p = rule.params
    detail = DATASETS[p["dataset"]]
    measure = q(p["measure"])
    only = ""
    if p.get("filter_column"):
        values = ", ".join(_sql_literal(str(v)) for v in p["filter_values"])
        only = f" filter (where r.{q(p['filter_column'])} = any(array[{values}]::text[]))"
    figure = q(_typed(dataset, c))
    period = q(_typed(dataset, dataset.period_column))
    abs_tol, rel_tol = float(p["abs_tolerance"]), float(p["rel_tolerance"])
    dp = q(detail.period_column)
    return (f"select t._line, ({figure}::text || ' <> ' || d.total::text) as value "
            f"from (select * from {{batch}}) as t "
            f"join (select r.institution_code, r.{dp}, coalesce(sum(r.{measure}){only}, 0) as total "
            f"from raw.{q(detail.name)} r join ops.batch b on b.batch_id = r._batch_id and b.status = 'accepted' "
            f"where r.{dp} in (select x.{period}::date from (select * from {{batch}}) as x) group by 1, 2) d "
            f"on d.institution_code = t.institution_code and d.{dp} = t.{period}::date "
            f"where {figure} is not null "
            f"and abs({figure} - d.total) > greatest({abs_tol!r}, {rel_tol!r} * abs(d.total))")


def build_suite(dataset: Dataset) -> gx_types.ExpectationSuite:
    """The expectation suite for ``dataset``, derived from its registry rules plus type rules.

    Each expectation carries ``meta = {"rule", "kind", "columns", "description_zh"}`` (``columns``:
    the registry columns its examples are about), the rule's English text
    as ``description`` and the rule's severity as GX ``severity``. Ids are derived from the dataset,
    rule and position (uuid5), so the suite is reproducible byte for byte (committed JSON stays
    stable). The period is a suite parameter (``$PARAMETER: period``): one suite for every period.
    """
    gx = _gx()
    expectations = []
    for rule in quality_rules(dataset):
        for exp, columns in _expectations_for(dataset, rule):
            exp.meta = {"rule": rule.name, "kind": rule.kind, "columns": list(columns),
                        "description_zh": rule.zh}
            exp.description = rule.en or rule.name
            exp.severity = rule.severity
            expectations.append(exp)
    suite = gx.ExpectationSuite(
        name=dataset.name,
        expectations=expectations,
        meta={"dataset": dataset.name,
              "generated_from": "include/datasets.py by include/ingest/quality.py (write_project)",
              "expectation_parameters": {PERIOD_PARAMETER: "[submission period, ISO date text]"}},
    )
    suite.id = str(uuid.uuid5(_ID_NAMESPACE, f"suite/{dataset.name}"))
    seen: dict[str, int] = {}
    for exp in suite.expectations:
        rule = exp.meta["rule"]
        seen[rule] = seen.get(rule, 0) + 1
        exp.id = str(uuid.uuid5(_ID_NAMESPACE, f"suite/{dataset.name}/{rule}/{seen[rule]}"))
    return suite


def typed_table_name(table: str) -> str:
    return f"{table}_typed"


def typed_table_sql(dataset: Dataset, table: str, *, batch_ids: list[int] | None = None,
                    typed_name: str | None = None) -> str:
    """``create unlogged table landing.<table>_typed as select ...`` over a text landing table.

    Columns: ``_line``; every registry column as submitted (``''`` read as NULL); for every non-text
    column its typed twin ``<column>__typed`` (NULL exactly where ``pg_input_is_valid`` is false;
    dates as ISO text); for the period_match column(s) ``<column>__period``, the typed twin but
    ``''`` where the value is missing. See the module docstring for why this is a table, not a view.
    """
    inner = ", ".join(f"nullif({q(c.name)}, '') as {q(c.name)}" for c in dataset.columns)
    outer = ["_line"]
    for c in dataset.columns:
        outer.append(q(c.name))
        if c.pg_type == "text":
            continue
        typed = f"{q(c.name)}::{c.pg_type}"
        if _base_type(c.pg_type) == "date":
            typed = f"to_char({typed}, 'YYYY-MM-DD')"
        outer.append(f"case when pg_input_is_valid({q(c.name)}, {_sql_literal(c.pg_type)}) "
                     f"then {typed} end as {q(c.name + TYPED_SUFFIX)}")
    for c in sorted({c for r in dataset.rules if r.kind == "period_match" for c in r.columns}):
        pg_type = dataset.column(c).pg_type
        typed = f"{q(c)}::{pg_type}" if pg_type != "text" else q(c)
        if _base_type(pg_type) == "date":
            typed = f"to_char({typed}, 'YYYY-MM-DD')"
        outer.append(f"case when {q(c)} is null then '' when pg_input_is_valid({q(c)}, {_sql_literal(pg_type)}) "
                     f"then {typed} end as {q(c + PERIOD_SUFFIX)}")
    where = f" where _batch_id = any(array[{', '.join(str(int(b)) for b in batch_ids)}]::bigint[])" if batch_ids else ""
    return (f"create unlogged table landing.{q(typed_name or typed_table_name(table))} as\n"
            f"select {', '.join(outer)}\n"
            f"from (select _line, {inner} from landing.{q(table)}{where}) as submitted")


# --------------------------------------------------------------------------------------------------
# Runtime: one ephemeral context per process
# --------------------------------------------------------------------------------------------------


@dataclass
class _Slot:
    """The GX objects validating one dataset in one database, built once per process.

    The asset's table is re-pointed at each batch's typed table: assets, batch definitions,
    validation definitions and checkpoints are pure bookkeeping, and rebuilding them per batch cost
    GX more than validating a small batch.
    """

    dataset: Dataset
    asset: Any
    validation: Any  # ValidationDefinition: the dataset's suite on the asset
    screen: Any  # Checkpoint running it with SCREEN_RESULT_FORMAT


class _Runtime:
    """The process-wide GX objects that are expensive to build: context, data sources, suites, slots.

    An ephemeral context (suites, validation definitions and checkpoints in memory) whose validation
    results store is a directory under the state directory (``<state>/gx/validations``), so results
    are kept, and Data Docs can list every batch validated, without writing into the repository.
    """

    def __init__(self, results_dir: Path) -> None:
        gx = _gx()
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        defaults = InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
        defaults.stores[defaults.validation_results_store_name]["store_backend"] = {
            "class_name": "TupleFilesystemStoreBackend", "base_directory": str(results_dir)}
        config = DataContextConfig(
            store_backend_defaults=defaults,
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        )
        self.gx = gx
        self.results_dir = results_dir
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self.datasources: dict[str, Any] = {}
        self.slots: dict[tuple[str, str], _Slot] = {}
        self.sites: dict[Path, str] = {}
        self.suite_pages: set[tuple[str, str]] = set()
        self.suite_sources: dict[str, Dataset] = {}  # suite name -> the definition it was built from

    def datasource(self, url: str):
        ds = self.datasources.get(url)
        if ds is None:
            # one data source per database the process validates in (normally exactly one)
            name = DATASOURCE if not self.datasources else (
                f"{DATASOURCE}_{hashlib.sha256(url.encode()).hexdigest()[:10]}")
            ds = self.context.data_sources.add_postgres(
                name, connection_string=url, kwargs={"connect_args": {"options": _SESSION_OPTIONS}})
            self.datasources[url] = ds
        return ds

    def slot(self, url: str, dataset: Dataset, typed_table: str) -> _Slot:
        """The dataset's GX objects, their asset pointed at ``landing.<typed_table>`` (which exists)."""
        ds = self.datasource(url)
        if self.suite_sources.get(dataset.name, dataset) != dataset:
            # Another definition under the same name (tests do this): rebuild everything built on it.
            for key in [k for k in self.slots if k[1] == dataset.name]:
                self._remove(self.datasources[key[0]], dataset.name)
                del self.slots[key]
            self.context.suites.delete(dataset.name)
            del self.suite_sources[dataset.name]
        if dataset.name not in self.suite_sources:
            self.context.suites.add(build_suite(dataset))
            self.suite_sources[dataset.name] = dataset
        slot = self.slots.get((url, dataset.name))
        if slot is None:
            prefix = self._prefix(ds, dataset.name)
            asset = ds.add_table_asset(name=dataset.name, table_name=typed_table, schema_name="landing")
            validation = self.context.validation_definitions.add(self.gx.ValidationDefinition(
                name=prefix, data=asset.add_batch_definition_whole_table("batch"),
                suite=self.context.suites.get(dataset.name)))
            screen = self.context.checkpoints.add(self.gx.Checkpoint(
                name=f"{prefix}_screen", validation_definitions=[validation], result_format=SCREEN_RESULT_FORMAT))
            slot = self.slots[(url, dataset.name)] = _Slot(dataset, asset, validation, screen)
        # as the asset's own validator stores it (GX reflects plain strings differently)
        slot.asset.table_name = sqlalchemy.quoted_name(typed_table, quote=False)
        return slot

    @staticmethod
    def _prefix(ds, name: str) -> str:
        return name if ds.name == DATASOURCE else f"{ds.name}.{name}"

    def _remove(self, ds, name: str) -> None:
        """Remove a slot's checkpoint, validation definition and asset."""
        prefix = self._prefix(ds, name)
        self.context.checkpoints.delete(f"{prefix}_screen")
        self.context.validation_definitions.delete(prefix)
        ds.delete_asset(name)

    def details(self, slot: _Slot, failed: list, period: str, run_id, site: str | None):
        """Run only the ``failed`` expectations again, with RESULT_FORMAT (offending lines)."""
        gx = self.gx
        name = f"{slot.validation.name}__failed"
        for store in (self.context.checkpoints, self.context.validation_definitions, self.context.suites):
            if name in {o.name for o in store.all()}:
                store.delete(name)
        suite = self.context.suites.add(gx.ExpectationSuite(
            name=name, expectations=[r.expectation_config for r in failed],
            meta={"dataset": slot.dataset.name, "subset_of": slot.validation.suite.name}))
        try:
            validation = self.context.validation_definitions.add(gx.ValidationDefinition(
                name=name, data=slot.validation.data, suite=suite))
            actions = [gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=[site])] if site else []
            checkpoint = self.context.checkpoints.add(gx.Checkpoint(
                name=name, validation_definitions=[validation], actions=actions, result_format=RESULT_FORMAT))
            return checkpoint.run(expectation_parameters={PERIOD_PARAMETER: [period]}, run_id=run_id)
        finally:
            for store in (self.context.checkpoints, self.context.validation_definitions, self.context.suites):
                if name in {o.name for o in store.all()}:
                    store.delete(name)

    def site(self, docs_dir: Path) -> str:
        docs_dir = docs_dir.resolve()
        name = self.sites.get(docs_dir)
        if name is None:
            name = f"docs_{hashlib.sha256(str(docs_dir).encode()).hexdigest()[:10]}"
            sites = dict(self.context.variables.data_docs_sites or {})
            sites[name] = {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                  "base_directory": str(docs_dir)},
                # The index page reads every result it lists, on every update: unbounded, the
                # demo's thousands of batches would make each update slower than the validation.
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                                       "validation_results_limit": DOCS_INDEX_LIMIT},
            }
            self.context.variables.data_docs_sites = sites
            self.sites[docs_dir] = name
        return name


_RUNTIME: _Runtime | None = None
_LOCK = threading.RLock()


def _runtime() -> _Runtime:
    """The process-wide runtime, rebuilt only if the state directory changed."""
    global _RUNTIME
    results_dir = paths().gx_results / "validations"
    if _RUNTIME is None or _RUNTIME.results_dir != results_dir:
        t0 = time.perf_counter()
        _RUNTIME = _Runtime(results_dir)
        log.info("GX runtime ready in %.2fs (results in %s)", time.perf_counter() - t0, results_dir)
    return _RUNTIME


def _create_typed_table(engine, dataset: Dataset, table: str) -> int:
    """Build ``landing.<table>_typed``; return the number of rows in the batch."""
    typed = f"landing.{q(typed_table_name(table))}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"drop table if exists {typed}")
        # The casts are the expensive part and parallelise well, but the planner prices moving
        # wide rows through Gather so high that it builds the table single-threaded.
        conn.exec_driver_sql("set local parallel_tuple_cost = 0.001")
        rows = conn.exec_driver_sql(typed_table_sql(dataset, table)).rowcount
    return rows


def _drop_typed_table(engine, table: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"drop table if exists landing.{q(typed_table_name(table))}")


def validate_landing(url: str, table: str, dataset: Dataset, period: str, *,
                     docs_dir: Path | None = None) -> ValidationOutcome:
    """Validate the landing batch ``landing.<table>`` of ``dataset`` for the submission ``period``.

    ``url`` is the SQLAlchemy URL of the loader role; ``period`` the submission's period as an ISO
    date (``YYYY-MM-DD``) or a date. Runs the dataset's suite on the batch's typed table as a GX
    checkpoint, in two passes (see the module docstring): a screening run, and for the expectations
    that failed a second run collecting the offending lines. With ``docs_dir``, Data Docs there are
    updated with the final run (``UpdateDataDocsAction``, or ``build_data_docs`` for a clean batch).
    The batch passes when no critical rule fails; an expectation that cannot be evaluated counts as
    failed (and is logged). Raises if the landing table does not exist or ``period`` is not a date.
    Thread-safe (calls in one process are serialised; the GX objects are shared).
    """
    t0 = time.perf_counter()
    period = date.fromisoformat(str(period)).isoformat()  # a date or an ISO date string
    with _LOCK:
        rt = _runtime()
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        engine = rt.datasource(url).get_engine()
        rows = _create_typed_table(engine, dataset, table)
        try:
            slot = rt.slot(url, dataset, typed_table_name(table))
            site = rt.site(docs_dir) if docs_dir is not None else None
            run_id = RunIdentifier(run_name=f"{table}-{period}")
            screened = slot.screen.run(expectation_parameters={PERIOD_PARAMETER: [period]}, run_id=run_id)
            ((key, screen),) = screened.run_results.items()
            failed = [r for r in screen.results if not r.success]
            details: list[ExpectationValidationResult] = []
            if failed:
                ((_, detail),) = rt.details(slot, failed, period, run_id, site).run_results.items()
                details = list(detail.results)
            elif site:
                # The suite's own page only once per site and process: it does not change.
                pages = [key] + ([] if (site, dataset.name) in rt.suite_pages
                                 else [ExpectationSuiteIdentifier(name=screen.suite_name)])
                rt.context.build_data_docs(site_names=[site], resource_identifiers=pages)
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


# --------------------------------------------------------------------------------------------------
# GX results -> RuleResult
# --------------------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _examples(dataset: Dataset, r: ExpectationValidationResult) -> list[dict]:
    """Example rows of one expectation result: {"line", "column", "value"}, values masked."""
    result = r.result or {}
    kwargs = r.expectation_config.kwargs
    columns = list(r.expectation_config.meta["columns"])
    label = ",".join(columns)
    rows = (result.get("details") or {}).get("unexpected_rows")
    if rows is not None:  # our UnexpectedRowsExpectation queries: _line, value (masked in SQL)
        return [{"line": int(row["_line"]), "column": label, "value": mask(_text(row.get("value")), None)}
                for row in rows]
    if "column" in kwargs:
        fields = [kwargs["column"]]
    elif "column_A" in kwargs:
        fields = [kwargs["column_B"], kwargs["column_A"]]  # registry "A <= B" is GX "B >= A"
    else:
        fields = list(kwargs.get("column_list") or [])
    out = []
    for row in result.get("partial_unexpected_index_list") or []:
        values = [mask(_text(row.get(f)) or None if f.endswith(PERIOD_SUFFIX) else _text(row.get(f)),
                       dataset.column(c).pii) for f, c in zip(fields, columns, strict=True)]
        value = values[0] if len(values) == 1 else " | ".join("NULL" if v is None else v for v in values)
        out.append({"line": int(row["_line"]), "column": label, "value": mask(value, None)})
    return out


def _error(r: ExpectationValidationResult) -> str | None:
    """The message of an exception GX caught while evaluating ``r``, if any."""
    info = r.exception_info or {}
    candidates = [info, *(v for v in info.values() if isinstance(v, dict))]
    for c in candidates:
        if c.get("raised_exception"):
            return str(c.get("exception_message"))[:500]
    return None


def _identity(r: ExpectationValidationResult) -> tuple:
    meta = r.expectation_config.meta
    return meta["rule"], tuple(meta["columns"]), r.expectation_config.type


def _summarise(dataset: Dataset, screened: list[ExpectationValidationResult],
               details: list[ExpectationValidationResult], rows: int) -> list[RuleResult]:
    """One RuleResult per rule (in registry order), aggregating the rule's expectations.

    ``screened``: every expectation, success only; ``details``: the failed ones again, with counts
    and offending rows. ``rows`` (the batch's row count) is the element count wherever GX reports
    none (screened results; UnexpectedRowsExpectation, which only counts offending rows); an
    expectation that passed the screen found 0 unexpected rows.
    """
    detailed = {_identity(r): r for r in details}
    by_rule: dict[str, list[ExpectationValidationResult]] = {}
    for r in screened:
        r = detailed.get(_identity(r), r)
        by_rule.setdefault(r.expectation_config.meta["rule"], []).append(r)
    out = []
    for rule in quality_rules(dataset):
        parts = by_rule.get(rule.name)
        if not parts:
            raise RuntimeError(f"no GX result for rule {rule.name!r} of dataset {dataset.name!r}")
        errors = [e for e in map(_error, parts) if e]
        element_count: int | None = None
        unexpected_count: int | None = None
        examples: list[dict] = []
        for r in parts:
            result = r.result or {}
            if result.get("element_count") is not None:
                element_count = max(element_count or 0, int(result["element_count"]))
            unexpected = result.get("unexpected_count", result.get("observed_value"))
            if unexpected is None and r.success:
                unexpected = 0
            if unexpected is not None:
                unexpected_count = (unexpected_count or 0) + int(unexpected)
            examples.extend(_examples(dataset, r))
        if errors:
            log.error("rule %s of %s could not be evaluated: %s", rule.name, dataset.name, errors[0])
        examples.sort(key=lambda e: (e["line"], e["column"]))
        out.append(RuleResult(
            rule_name=rule.name,
            expectation_type=parts[0].expectation_config.type,
            severity=rule.severity,
            success=all(bool(r.success) for r in parts) and not errors,
            element_count=rows if element_count is None else element_count,
            unexpected_count=unexpected_count,
            examples=examples[:MAX_EXAMPLES],
            description_en=rule.en,
            description_zh=rule.zh,
            error="; ".join(errors) or None,
        ))
    return out


# --------------------------------------------------------------------------------------------------
# The committed file project
# --------------------------------------------------------------------------------------------------

_GX_YML = """\
# Great Expectations 1.x project of the supervision warehouse. GENERATED by
# include/ingest/quality.py:write_project() from the dataset registry (include/datasets.py):
# edit the registry, then run `python -c "from include.ingest.quality import write_project;
# write_project()"`. tests/test_quality.py fails when the committed suites drift from the registry.
#
# The pipeline does not run this file context (see the docstring of include/ingest/quality.py): it
# builds the same suites in an ephemeral context and points them at each batch's typed table. The
# data source reads the loader's SQLAlchemy URL from ${{{url_env}}}; asset tables are templates
# (landing.<dataset>_typed) standing for the typed table of one batch (landing.<table>_typed).
config_version: 4
config_variables_file_path: uncommitted/config_variables.yml
plugins_directory: plugins/
analytics_enabled: false
data_context_id: {context_id}

stores:
  expectations_store:
    class_name: ExpectationsStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: expectations/
  validation_results_store:
    class_name: ValidationResultsStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: uncommitted/validations/
  checkpoint_store:
    class_name: CheckpointStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      suppress_store_backend_id: true
      base_directory: checkpoints/
  validation_definition_store:
    class_name: ValidationDefinitionStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: validation_definitions/

expectations_store_name: expectations_store
validation_results_store_name: validation_results_store
checkpoint_store_name: checkpoint_store

data_docs_sites:
  local_site:
    class_name: SiteBuilder
    show_how_to_buttons: false
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: uncommitted/data_docs/local_site/
    site_index_builder:
      class_name: DefaultSiteIndexBuilder

fluent_datasources:
  {datasource}:
    type: postgres
    id: {datasource_id}
    connection_string: ${{{url_env}}}
    assets:
{assets}
"""

_GX_ASSET = """\
      {name}:
        type: table
        id: {asset_id}
        table_name: {table}
        schema_name: landing
        batch_metadata: {{}}
        batch_definitions:
          batch:
            id: {bd_id}
            partitioner:
"""


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, "/".join(parts)))


def write_project(gx_root: Path = GX_ROOT) -> list[Path]:
    """Write (or refresh) the committed GX file project at ``gx_root`` from the registry.

    Writes ``great_expectations.yml`` (stores, a local Data Docs site under ``uncommitted/``, the
    ``landing`` postgres data source with one table asset per dataset), one suite per dataset, and
    per dataset a validation definition and a checkpoint named ``<dataset>_landing``. Everything has
    a stable id, so re-running it on an unchanged registry changes no file. Suites, validation
    definitions and checkpoints of datasets no longer in the registry are removed.
    ``uncommitted/`` is git-ignored (``.gitignore`` is written too). Returns the files written.
    """
    gx = _gx()
    gx_root = Path(gx_root)
    gx_root.mkdir(parents=True, exist_ok=True)
    assets = "".join(
        _GX_ASSET.format(name=d.name, asset_id=_uid("asset", d.name), table=f"{d.name}_typed",
                         bd_id=_uid("batch_definition", d.name))
        for d in DATASETS.values())
    (gx_root / "great_expectations.yml").write_text(_GX_YML.format(
        url_env=URL_ENV, context_id=_uid("context"), datasource=DATASOURCE,
        datasource_id=_uid("datasource", DATASOURCE), assets=assets.rstrip("\n")) + "\n")
    (gx_root / ".gitignore").write_text("# run-time results and Data Docs: never committed\nuncommitted/\n")
    for sub in ("expectations", "validation_definitions", "checkpoints"):
        d = gx_root / sub
        if d.exists():
            for f in d.glob("*.json"):
                f.unlink()
    context = gx.get_context(mode="file", context_root_dir=str(gx_root))
    source = context.data_sources.get(DATASOURCE)
    written = [gx_root / "great_expectations.yml", gx_root / ".gitignore"]
    for dataset in DATASETS.values():
        built = build_suite(dataset)
        suite = context.suites.add(build_suite(dataset))
        # The stores give every new object random ids; re-saving with the derived ones keeps the
        # committed files byte-identical across regenerations.
        suite.id = built.id
        for saved, derived in zip(suite.expectations, built.expectations, strict=True):
            saved.id = derived.id
        suite.save()
        batch_definition = source.get_asset(dataset.name).get_batch_definition("batch")
        name = f"{dataset.name}_landing"
        vd = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch_definition, suite=suite))
        vd.id = _uid("validation_definition", dataset.name)
        vd.save()
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=name, validation_definitions=[vd], result_format=RESULT_FORMAT,
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")]))
        checkpoint.id = _uid("checkpoint", dataset.name)
        checkpoint.save()
        written += [gx_root / "expectations" / f"{dataset.name}.json",
                    gx_root / "validation_definitions" / f"{name}.json",
                    gx_root / "checkpoints" / f"{name}.json"]
    log.info("wrote GX project %s: %d suites", gx_root, len(DATASETS))
    return written


# --------------------------------------------------------------------------------------------------
# Groups of batches: one screen for many files
# --------------------------------------------------------------------------------------------------


def _passed_outcome(dataset: Dataset, table: str, screened: list, rows: int, seconds: float,
                    docs: str | None) -> ValidationOutcome:
    results = _summarise(dataset, screened, [], rows)
    return ValidationOutcome(batch_table=table, results=results, passed=True, seconds=seconds, data_docs_path=docs)


def validate_group(url: str, table: str, dataset: Dataset, members: dict[int, tuple[str, int]], *,
                   docs_dir: Path | None = None) -> dict[int, ValidationOutcome]:
    """Validate every batch of a group landing table (``_batch_id``, ``_period`` columns; see
    include/ingest/ddl.py). ``members``: batch id -> (submission period, row count).

    The whole group is screened by one GX checkpoint run (the suite's pass/fail only, with the
    group's periods as the period parameter). If every expectation holds, every batch passes, each
    with the screen's per-rule results. Where the screen fails, the group is split in halves and
    each half screened again, down to single batches, which get the full per-batch validation
    (:func:`validate_landing`: counts and offending lines). Batches whose period column differs from
    their own submission's period go straight to per-batch validation, so the shared period
    parameter can never let a wrong period through. Cost: one screen for a clean group, about
    k·log2(n) screens for k failing batches among n.
    """
    t0 = time.perf_counter()
    period_col = q(dataset.period_column)
    out: dict[int, ValidationOutcome] = {}
    with _LOCK:
        rt = _runtime()
        engine = rt.datasource(url).get_engine()
        with engine.begin() as conn:
            suspects = {r[0] for r in conn.exec_driver_sql(
                f"select distinct _batch_id from landing.{q(table)} "
                f"where nullif({period_col}, '') is distinct from _period")}
        site = rt.site(docs_dir) if docs_dir is not None else None
        docs = str(Path(docs_dir) / "index.html") if docs_dir is not None else None

        def single(batch_id: int) -> None:
            single_table = f"{table}_b{batch_id}"
            with engine.begin() as conn:
                conn.exec_driver_sql(f"drop table if exists landing.{q(single_table)}")
                cols = ", ".join(q(c.name) for c in dataset.columns)
                conn.exec_driver_sql(f"create unlogged table landing.{q(single_table)} as select _line, {cols} "
                                     f"from landing.{q(table)} where _batch_id = {int(batch_id)}")
            try:
                out[batch_id] = validate_landing(url, single_table, dataset, members[batch_id][0], docs_dir=docs_dir)
            finally:
                with engine.begin() as conn:
                    conn.exec_driver_sql(f"drop table if exists landing.{q(single_table)}")

        def screen(ids: list[int]) -> list | None:
            """The screen's results if every expectation held for ``ids``, else None."""
            from great_expectations.core.run_identifier import RunIdentifier

            typed = f"{table}_s{ids[0]}_{len(ids)}"
            with engine.begin() as conn:
                conn.exec_driver_sql(f"drop table if exists landing.{q(typed)}")
                conn.exec_driver_sql("set local parallel_tuple_cost = 0.001")
                conn.exec_driver_sql(typed_table_sql(dataset, table, batch_ids=ids, typed_name=typed))
            try:
                slot = rt.slot(url, dataset, typed)
                periods = sorted({members[i][0] for i in ids})
                result = slot.screen.run(expectation_parameters={PERIOD_PARAMETER: periods},
                                         run_id=RunIdentifier(run_name=f"{typed}-{len(ids)}-batches"))
                ((key, res),) = result.run_results.items()
                if res.success and site:
                    rt.context.build_data_docs(site_names=[site], resource_identifiers=[key])
                return list(res.results) if res.success else None
            finally:
                with engine.begin() as conn:
                    conn.exec_driver_sql(f"drop table if exists landing.{q(typed)}")

        def solve(ids: list[int]) -> None:
            if not ids:
                return
            if len(ids) == 1:
                single(ids[0])
                return
            passed = screen(ids)
            if passed is not None:
                took = time.perf_counter() - t0
                for i in ids:
                    out[i] = _passed_outcome(dataset, f"{table}[{i}]", passed, members[i][1], took, docs)
                return
            half = len(ids) // 2
            solve(ids[:half])
            solve(ids[half:])

        for batch_id in sorted(suspects & set(members)):
            single(batch_id)
        solve(sorted(set(members) - suspects))
    failed = sorted(i for i, o in out.items() if not o.passed)
    log.info("validated %d %s batches in landing.%s in %.2fs; failing: %s", len(members), dataset.name, table,
             time.perf_counter() - t0, failed or "none")
    return out
