"""Row kinds: one record of one data file altered (a value a registry rule refuses, a record repeated,
text that must be stored as text, ...). ``ROW_APPLY[kind](rng, file, ctx)`` alters the file and returns
the :data:`~simulator.defects.datafile.Hit`, or None when the file has no place for the kind;
``ROW_DATASETS[kind](dataset)`` says whether a dataset could have one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

import numpy as np
import pandas as pd

from include.registry.datasets import Dataset, Rule
from simulator.defects.catalogue import ABSURD_AMOUNT, FORMULA_TEXT, SQL_TEXT
from simulator.defects.datafile import DataFile, Hit, choose
from simulator.ids import USCC_ALPHABET


def _money_cols(ds: Dataset) -> set[str]:
    return {c.name for c in ds.columns if c.pg_type.startswith("numeric(20")}


def _pair_sides(ds: Dataset) -> tuple[set[str], set[str]]:
    left = {r.columns[0] for r in ds.rules if r.kind == "column_pair_le" and r.severity == "critical"}
    right = {r.columns[1] for r in ds.rules if r.kind == "column_pair_le" and r.severity == "critical"}
    return left, right


def _critical_rules_on(ds: Dataset, col: str, *, skip: Iterable[str] = ("not_null",)) -> list[Rule]:
    return [r for r in ds.rules if r.severity == "critical" and col in r.columns and r.kind not in skip]


def _rule_for(ds: Dataset, kind: str, col: str) -> Rule | None:
    return next((r for r in ds.rules if r.kind == kind and col in r.columns), None)



def _pick_row(rng, f: DataFile, col: int) -> int | None:
    cand = [i for i, r in enumerate(f.rows) if r[col] != "" and i not in f.raw_lines]
    return int(cand[rng.integers(len(cand))]) if cand else None



def _set_value(rng, f: DataFile, cols: list[str], rule_of: Callable[[str], str | None],
               value: Callable[[str], str | None]) -> Hit | None:
    """Set one non-empty cell of one of ``cols`` to ``value(old)``; the expected rule is ``rule_of(col)``."""
    cols = [c for c in cols if c in f.header and rule_of(c)]
    for c in rng.permutation(np.array(cols, dtype=object)).tolist() if cols else []:
        i = _pick_row(rng, f, f.col(c))
        if i is None:
            continue
        old = f.rows[i][f.col(c)]
        new = value(old)
        if new is None or new == old:
            continue
        f.rows[i][f.col(c)] = new
        return i, rule_of(c), f"{c}: {old!r} -> {new!r}"
    return None


def _row_bad_check(rng, f: DataFile, rule_kind: str, alphabet: str) -> Hit | None:
    cols = [c for r in f.ds.rules if r.kind == rule_kind for c in r.columns]

    def wrong(old: str) -> str | None:
        if len(old) != 18:
            return None
        return old[:17] + choose(rng, [ch for ch in alphabet if ch != old[17]])

    return _set_value(rng, f, cols, lambda c: _rule_for(f.ds, rule_kind, c).name, wrong)


def _between_rule(ds: Dataset, col: str) -> Rule | None:
    return next((r for r in ds.rules if r.kind == "between" and col in r.columns
                 and r.severity == "critical" and r.params.get("min", -1) >= 0), None)


def _row_negative(rng, f, _ctx) -> Hit | None:
    _, right = _pair_sides(f.ds)
    cols = [c for c in _money_cols(f.ds) if _between_rule(f.ds, c) and c not in right]
    return _set_value(rng, f, sorted(cols), lambda c: _between_rule(f.ds, c).name,
                      lambda old: "-1.00" if Decimal(old) == 0 else f"-{old}".replace("--", "-"))


def _row_absurd(rng, f, _ctx) -> Hit | None:
    left, _ = _pair_sides(f.ds)
    cols = [c for c in _money_cols(f.ds) if _between_rule(f.ds, c) and c not in left]
    return _set_value(rng, f, sorted(cols), lambda c: _between_rule(f.ds, c).name, lambda old: ABSURD_AMOUNT)


def _row_missing(rng, f, _ctx) -> Hit | None:
    rule = next((r for r in f.ds.rules if r.kind == "not_null"), None)
    if rule is None:
        return None
    cols = [c for c in rule.columns if c not in f.ds.key and not _critical_rules_on(f.ds, c)]
    cols = cols or [c for c in rule.columns if c not in f.ds.key]
    return _set_value(rng, f, cols, lambda c: rule.name, lambda old: "")


def _row_duplicate(rng, f, _ctx) -> Hit | None:
    rule = next((r for r in f.ds.rules if r.kind == "unique"), None)
    if rule is None or not f.rows:
        return None
    i = int(rng.integers(len(f.rows)))
    f.rows.append(list(f.rows[i]))
    return len(f.rows) - 1, rule.name, f"copy of record {i + 1}"


def _shift_month_end(iso: str, months: int) -> str:
    return (pd.Timestamp(iso) + pd.offsets.MonthEnd(months)).date().isoformat()


def _row_period(rng, f, _ctx) -> Hit | None:
    rule = next((r for r in f.ds.rules if r.kind == "period_match"), None)
    if rule is None:
        return None
    col = rule.columns[0]
    left, _ = _pair_sides(f.ds)
    step = -3 if col in left else 1  # keep "x <= period" and "period <= y" rules satisfied
    if f.ds.grain == "quarter":
        step = -3 if col in left else 3
    return _set_value(rng, f, [col], lambda c: rule.name, lambda old: _shift_month_end(old, step))


def _row_fixed(col: str, value: str, rule: str) -> Callable:
    def apply(rng, f, _ctx) -> Hit | None:
        return _set_value(rng, f, [col], lambda c: rule, lambda old: value)
    return apply


def _row_type(pg_prefix: str, value: str) -> Callable:
    def apply(rng, f, _ctx) -> Hit | None:
        cols = [c.name for c in f.ds.columns if c.pg_type.startswith(pg_prefix)]
        quiet = [c for c in cols if not _critical_rules_on(f.ds, c, skip=("not_null", "between"))]
        return _set_value(rng, f, quiet or cols, lambda c: f"type_{c}", lambda old: value)
    return apply


def _row_cet1(rng, f, _ctx) -> Hit | None:
    if "cet1_capital" not in f.header or not f.rows:
        return None
    i = int(rng.integers(len(f.rows)))
    r = f.rows[i]
    old = r[f.col("cet1_capital")]
    r[f.col("cet1_capital")] = f"{Decimal(r[f.col('tier1_capital')]) + Decimal('1000000.00'):.2f}"
    return i, "capital_tiers_ordered", f"cet1_capital: {old} -> tier1 + 1,000,000"


def _row_phone(rng, f, _ctx) -> Hit | None:
    return _set_value(rng, f, ["phone"], lambda c: "customer_individual_phone_format", lambda old: old[:-1])


FREE_TEXT = ("purpose", "counterparty_name", "name", "entity_name", "guarantor_name", "legal_rep_name", "reason",
             "description",
             "detail", "remark", "summary")


def free_text_cols(ds: Dataset) -> list[str]:
    """Free-text columns no rule (but not_null) constrains: where odd text can only be stored."""
    ruled = {c for r in ds.rules if r.kind != "not_null" for c in r.columns}
    return [c.name for c in ds.columns if c.pg_type == "text" and c.name in FREE_TEXT and c.name not in ruled
            and c.name not in ds.key]


def _row_text(value: str) -> Callable:
    def apply(rng, f, _ctx) -> Hit | None:
        return _set_value(rng, f, free_text_cols(f.ds), lambda c: "-", lambda old: value)
    return apply


def _row_unknown_customer(rng, f, _ctx) -> Hit | None:
    return _set_value(rng, f, ["customer_id"], lambda c: "-",
                      lambda old: f"CX{int(rng.integers(10**9)):09d}")


def _row_report_mismatch(rng, f, _ctx) -> Hit | None:
    if "npl_balance" not in f.header or not f.rows:
        return None
    i = int(rng.integers(len(f.rows)))
    r = f.rows[i]
    npl, total = Decimal(r[f.col("npl_balance")]), Decimal(r[f.col("total_loans")])
    new = (npl * Decimal("0.8")).quantize(Decimal("0.01")) if npl > 0 else (total / 100).quantize(Decimal("0.01"))
    if new == npl:
        return None
    r[f.col("npl_balance")] = f"{new:.2f}"
    return i, "-", f"npl_balance {npl} -> {new} (the loan detail sums to {npl})"


ROW_APPLY: dict[str, Callable] = {
    "bad_uscc_check": lambda rng, f, ctx: _row_bad_check(rng, f, "uscc", USCC_ALPHABET),
    "bad_resident_id_check": lambda rng, f, ctx: _row_bad_check(rng, f, "resident_id", "0123456789X"),
    "negative_amount": _row_negative,
    "absurd_amount": _row_absurd,
    "missing_mandatory": _row_missing,
    "duplicate_key": _row_duplicate,
    "period_mismatch": _row_period,
    "invalid_five_category": _row_fixed("five_category", "不良", "loan_five_category_known"),
    "interest_rate_out_of_range": _row_fixed("interest_rate", "48.0000", "loan_interest_rate_range"),
    "non_numeric_amount": _row_type("numeric(20", "12万"),
    "invalid_date": _row_type("date", "2025-02-30"),
    "cet1_above_tier1": _row_cet1,
    "phone_format": _row_phone,
    "unknown_channel": _row_fixed("channel", "微信红包", "transaction_channel_known"),
    "formula_text": _row_text(FORMULA_TEXT),
    "sql_text": _row_text(SQL_TEXT),
    "loan_unknown_customer": _row_unknown_customer,
    "report_detail_mismatch": _row_report_mismatch,
}
# which datasets a row kind can apply to (a quick filter before reading files)
ROW_DATASETS: dict[str, Callable[[Dataset], bool]] = {
    "bad_uscc_check": lambda ds: any(r.kind == "uscc" for r in ds.rules),
    "bad_resident_id_check": lambda ds: any(r.kind == "resident_id" for r in ds.rules),
    "negative_amount": lambda ds: any(_between_rule(ds, c) and c not in _pair_sides(ds)[1] for c in _money_cols(ds)),
    "absurd_amount": lambda ds: any(_between_rule(ds, c) and c not in _pair_sides(ds)[0] for c in _money_cols(ds)),
    "missing_mandatory": lambda ds: any(r.kind == "not_null" for r in ds.rules),
    "duplicate_key": lambda ds: any(r.kind == "unique" for r in ds.rules),
    "period_mismatch": lambda ds: any(r.kind == "period_match" for r in ds.rules),
    "invalid_five_category": lambda ds: ds.name == "loan",
    "interest_rate_out_of_range": lambda ds: ds.name == "loan",
    "non_numeric_amount": lambda ds: bool(_money_cols(ds)),
    "invalid_date": lambda ds: any(c.pg_type == "date" for c in ds.columns),
    "cet1_above_tier1": lambda ds: ds.name == "capital_report",
    "phone_format": lambda ds: ds.name == "customer_individual",
    "unknown_channel": lambda ds: ds.name == "transaction",
    "formula_text": lambda ds: bool(free_text_cols(ds)),
    "sql_text": lambda ds: bool(free_text_cols(ds)),
    "loan_unknown_customer": lambda ds: ds.name == "loan",
    "report_detail_mismatch": lambda ds: ds.name == "asset_quality",
}
