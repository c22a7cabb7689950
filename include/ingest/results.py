"""The gate's results: one :class:`RuleResult` per registry rule and batch (a row of ``ops.dq_result``),
aggregated from GX's expectation results, with at most 20 example rows each (identified by ``_line``,
the record's number in the submitted file; personal identifiers masked)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from include.privacy.masking import mask, scrub
from include.registry.datasets import Dataset
from include.registry.expectations import MAX_EXAMPLES, PERIOD_SUFFIX, quality_rules

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult

log = logging.getLogger(__name__)


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
        return [{"line": int(row["_line"]), "column": label, "value": scrub(_text(row.get("value")))}
                for row in rows]
    if "column" in kwargs:
        fields = [kwargs["column"]]
    elif "column_A" in kwargs:
        fields = [kwargs["column_B"], kwargs["column_A"]]  # registry "A <= B" is GX "B >= A"
    else:
        fields = list(kwargs.get("column_list") or [])
    out = []
    for row in result.get("partial_unexpected_index_list") or []:
        values = [_masked(_text(row.get(f)) or None if f.endswith(PERIOD_SUFFIX) else _text(row.get(f)),
                          dataset.column(c).pii) for f, c in zip(fields, columns, strict=True)]
        value = values[0] if len(values) == 1 else " | ".join("NULL" if v is None else v for v in values)
        out.append({"line": int(row["_line"]), "column": label, "value": mask(value, None)})
    return out


def _masked(value: str | None, pii: str | None) -> str | None:
    """A declared identifier by its kind; anything else scrubbed of what looks like one."""
    return mask(value, pii) if pii else scrub(value)


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
    return with_rows(_rule_results(dataset, screened, details), rows)


def with_rows(results: list[RuleResult], rows: int) -> list[RuleResult]:
    """Copies of ``results`` (from :func:`_rule_results`) for a batch of ``rows`` rows: ``rows`` is the
    element count wherever GX reported none. Batches screened together summarise once, then each takes
    its copy (the same RuleResults as :func:`_summarise` per batch)."""
    # the constructor, not dataclasses.replace (5x slower: ~20 rules for each of thousands of batches)
    return [RuleResult(r.rule_name, r.expectation_type, r.severity, r.success,
                       rows if r.element_count is None else r.element_count, r.unexpected_count, list(r.examples),
                       r.description_en, r.description_zh, r.error) for r in results]


def _rule_results(dataset: Dataset, screened: list[ExpectationValidationResult],
                  details: list[ExpectationValidationResult]) -> list[RuleResult]:
    """:func:`_summarise` without the batch's row count (element_count None where GX reported none)."""
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
            element_count=element_count,
            unexpected_count=unexpected_count,
            examples=examples[:MAX_EXAMPLES],
            description_en=rule.en,
            description_zh=rule.zh,
            error="; ".join(errors) or None,
        ))
    return out

