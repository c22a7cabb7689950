"""Defect injection (issue #3 item 8): known problems planted at known places, with the outcome the
pipeline should reach for each.

A post-write pass over written submission folders. For each submission chosen, the folder is copied
to a temporary sibling, every defect of that submission is applied there (data files rewritten and the
manifest kept consistent, except where the inconsistency *is* the defect), and the result replaces the
original folder. Every defect is one row of ``ground_truth/defects.csv``:

``submission_id, institution_code, period, dataset, file, line, record, kind, expected_outcome,
expected_rule, detail``

``line`` is the physical line in the (decompressed) file, the header being line 1; ``record`` is the
data-record number the loader stores as ``_line`` (``line - 1``); both are empty for file-wide defects.

Expected outcomes: ``rejected`` (the loader refuses the file or the whole submission; the rule is the
one its message names: ``manifest_sha256``, ``manifest_row_count``, ``header_matches_registry``,
``file_present``, ``well_formed_<encoding>_csv``, ``gzip_integrity`` (message "corrupt gzip"), or for a
manifest that cannot be parsed ``manifest_json`` / ``manifest_dataset_known``), ``quarantined`` (a
critical registry rule, or a derived ``type_<column>`` rule, fails), ``accepted_with_warning`` (a
warning rule fails), ``accepted`` (nothing should fire: harmless oddities, and defects whose rules do
not exist yet: referential integrity and report/detail reconciliation wait for issue #4), ``late``
(accepted, but submitted after the deadline) and ``superseded`` (a later version replaces it).

Selection is deterministic per seed: each month draws from ``stream(seed, "defects", <month>)`` so a
month added later by ``simulate advance`` gets the same defects as if it had been generated at once;
``DefectConfig.min_each`` plants every enabled kind at least that many times over a run (from its own
stream) when a suitable place exists.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from include.ingest.contract import CST, MANIFEST_NAME, submission_id
from include.registry.datasets import DATASETS, Dataset, Rule
from simulator.ids import USCC_ALPHABET
from simulator.landing import read_data_file
from simulator.rng import stream
from simulator.schedule import DEADLINE_DAYS

DEFECTS_CSV = "defects.csv"
DEFECT_COLUMNS = ("submission_id", "institution_code", "period", "dataset", "file", "line", "record", "kind",
                  "expected_outcome", "expected_rule", "detail")
OUTCOMES = ("rejected", "quarantined", "accepted_with_warning", "accepted", "late", "superseded")
#: Rule names the loader itself reports (with the fragment of its message that names them).
LOADER_RULES = {
    "manifest_sha256": "manifest_sha256", "manifest_row_count": "manifest_row_count",
    "header_matches_registry": "header_matches_registry", "file_present": "file_present",
    "well_formed_utf8_csv": "well_formed_", "well_formed_gb18030_csv": "well_formed_",
    "gzip_integrity": "corrupt gzip",
}
#: Manifest errors (the whole submission is refused) and the fragment of the parser's message.
MANIFEST_RULES = {"manifest_json": "not valid UTF-8 JSON", "manifest_dataset_known": "unknown dataset"}
ABSURD_AMOUNT = "99999999999999999.99"  # > every registry maximum (1e16), still a valid numeric(20,2)
FORMULA_TEXT = '=HYPERLINK("http://evil.example.cn/x","点击查看详情")'
SQL_TEXT = "'; DROP TABLE raw.loan; --"
UNKNOWN_DATASET = "collateral_register"


# --------------------------------------------------------------------------------------------------
# the catalogue
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DefectKind:
    name: str
    level: str  # "row" (one record), "file" (one data file), "submission" (manifest / lifecycle)
    outcome: str
    rule: str  # fixed rule name; for row kinds the pattern the registry rule follows
    description: str
    default_rate: float  # per file (row/file kinds) or per submission (submission kinds)


def _k(name, level, outcome, rule, description, rate=0.002) -> DefectKind:
    return DefectKind(name, level, outcome, rule, description, rate)


CATALOGUE: dict[str, DefectKind] = {k.name: k for k in (
    # --- values (a critical registry rule quarantines the batch) ---
    _k("bad_uscc_check", "row", "quarantined", "<dataset uscc rule>",
       "a USCC whose check character (18th) is wrong"),
    _k("bad_resident_id_check", "row", "quarantined", "<dataset resident_id rule>",
       "a resident ID whose check digit (18th) is wrong"),
    _k("negative_amount", "row", "quarantined", "<dataset non-negative/positive rule>",
       "an amount that must not be negative is negative"),
    _k("absurd_amount", "row", "quarantined", "<dataset amount range rule>",
       f"an amount far outside any plausible range ({ABSURD_AMOUNT})"),
    _k("missing_mandatory", "row", "quarantined", "<dataset>_not_null", "a mandatory field left empty"),
    _k("duplicate_key", "row", "quarantined", "<dataset>_key_unique", "a record repeated (same key twice)"),
    _k("period_mismatch", "row", "quarantined", "report_period_matches",
       "a record dated in another period than the submission's"),
    _k("invalid_five_category", "row", "quarantined", "loan_five_category_known",
       "a loan classification outside 正常/关注/次级/可疑/损失 (不良)"),
    _k("interest_rate_out_of_range", "row", "quarantined", "loan_interest_rate_range",
       "a loan interest rate of 48% (the range is 0-36%)"),
    _k("non_numeric_amount", "row", "quarantined", "type_<column>", "an amount written as text (12万)"),
    _k("invalid_date", "row", "quarantined", "type_<column>", "a date that does not exist (2025-02-30)"),
    # --- warnings (accepted, finding recorded) ---
    _k("cet1_above_tier1", "row", "accepted_with_warning", "capital_tiers_ordered",
       "CET1 capital reported above tier 1 capital"),
    _k("phone_format", "row", "accepted_with_warning", "customer_individual_phone_format",
       "a mobile number with a digit missing"),
    _k("unknown_channel", "row", "accepted_with_warning", "transaction_channel_known",
       "a transaction channel outside the code list (微信红包)"),
    # --- harmless or not yet checkable (accepted) ---
    _k("formula_text", "row", "accepted", "",
       f"spreadsheet-formula text in a free-text field ({FORMULA_TEXT}); must be stored as text and "
       "neutralised in any export"),
    _k("sql_text", "row", "accepted", "", f"SQL-looking text in a free-text field ({SQL_TEXT}); must be stored "
       "as text (COPY and bound parameters only)"),
    _k("loan_unknown_customer", "row", "accepted", "",
       "a loan whose customer_id was never submitted as a customer; accepted until issue #4 adds "
       "referential rules (then: quarantined or warned by the loan/customer referential rule)"),
    _k("report_detail_mismatch", "row", "accepted", "",
       "asset_quality.npl_balance differs from the sum of the quarter-end loan detail (and from its own "
       "categories); accepted until issue #4 adds reconciliation rules"),
    # --- file format (the loader rejects the file) ---
    _k("unquoted_delimiter", "file", "rejected", "well_formed_<encoding>_csv",
       "a text field containing the delimiter, not quoted: one line has an extra field"),
    _k("wrong_declared_encoding", "file", "rejected", "well_formed_utf8_csv",
       "GB18030 bytes in a file the manifest declares utf-8"),
    _k("truncated_file", "file", "rejected", "manifest_sha256",
       "the file was cut short in transfer (the manifest describes the whole file)"),
    _k("corrupt_gzip", "file", "rejected", "gzip_integrity",
       "corrupt gzip stream (bytes damaged before the manifest was made, so the sha256 matches)"),
    _k("extra_column", "file", "rejected", "header_matches_registry", "an extra column (remark) in every line"),
    _k("missing_column", "file", "rejected", "header_matches_registry", "a column left out of every line"),
    _k("reordered_columns", "file", "rejected", "header_matches_registry", "two adjacent columns swapped"),
    _k("manifest_row_count", "file", "rejected", "manifest_row_count",
       "the manifest declares a different number of rows than the file holds"),
    _k("manifest_sha256", "file", "rejected", "manifest_sha256", "the manifest's sha256 does not match the file"),
    _k("file_missing", "file", "rejected", "file_present", "a file listed in the manifest was not delivered"),
    _k("bom_at_start", "file", "accepted", "", "a UTF-8 byte-order mark before the header (should be accepted)"),
    _k("crlf_line_endings", "file", "accepted", "", "CRLF line endings throughout (should be accepted)"),
    # --- submission (manifest and lifecycle) ---
    _k("unknown_dataset", "submission", "rejected", "manifest_dataset_known",
       f"the manifest lists a dataset the registry does not know ({UNKNOWN_DATASET})", 0.003),
    _k("malformed_manifest_json", "submission", "rejected", "manifest_json",
       "manifest.json cut short: not valid JSON", 0.003),
    _k("late_submission", "submission", "late", "",
       f"submitted 5-40 days after the deadline ({DEADLINE_DAYS} days after the period)", 0.01),
    _k("resubmission_corrected", "submission", "superseded", "",
       "v1 lacks the last record of one file; a corrected v2 (complete) follows days later, so v1's "
       "batches end superseded and v2's accepted", 0.005),
)}
ROW_KINDS = [k for k, v in CATALOGUE.items() if v.level == "row"]
FILE_KINDS = [k for k, v in CATALOGUE.items() if v.level == "file"]
SUBMISSION_KINDS = [k for k, v in CATALOGUE.items() if v.level == "submission"]


@dataclass(frozen=True)
class DefectConfig:
    """Rate per kind (a probability per data file for row and file kinds, per submission for
    submission kinds; kinds left out are 0), and ``min_each``: plant every kind with a positive rate
    at least this many times over a run where a suitable place exists."""

    rates: Mapping[str, float] = field(default_factory=dict)
    min_each: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.rates) - set(CATALOGUE)
        if unknown:
            raise ValueError(f"unknown defect kinds {sorted(unknown)}; known: {sorted(CATALOGUE)}")
        bad = {k: v for k, v in self.rates.items() if not 0.0 <= v <= 1.0}
        if bad:
            raise ValueError(f"rates must be in [0, 1]: {bad}")

    @property
    def enabled(self) -> bool:
        return any(v > 0 for v in self.rates.values())

    @classmethod
    def none(cls) -> DefectConfig:
        return cls({})

    @classmethod
    def default(cls, scale: float = 1.0, min_each: int = 0) -> DefectConfig:
        """The catalogue's default rates (about 5% of files and 2% of submissions), times ``scale``."""
        return cls({k: min(1.0, v.default_rate * scale) for k, v in CATALOGUE.items()}, min_each=min_each)

    @classmethod
    def every_kind(cls, rate: float = 0.02, min_each: int = 1) -> DefectConfig:
        """Every kind at ``rate`` and at least ``min_each`` times (tests, demos)."""
        return cls(dict.fromkeys(CATALOGUE, rate), min_each=min_each)


def resolve(spec: DefectConfig | str | float | Mapping[str, float] | None) -> DefectConfig:
    """``None``/"none" -> no defects; "default" -> :meth:`DefectConfig.default`; "all" ->
    :meth:`DefectConfig.every_kind`; a float scales the defaults; a mapping gives rates per kind."""
    if spec is None or isinstance(spec, str) and spec in ("none", ""):
        return DefectConfig.none()
    if isinstance(spec, DefectConfig):
        return spec
    if isinstance(spec, str):
        if spec == "default":
            return DefectConfig.default()
        if spec == "all":
            return DefectConfig.every_kind()
        raise ValueError(f"unknown defect preset {spec!r} (use none, default, all, a scale or a mapping)")
    if isinstance(spec, (int, float)):
        return DefectConfig.default(float(spec))
    return DefectConfig(dict(spec))


# --------------------------------------------------------------------------------------------------
# one data file, held as text while defects are applied
# --------------------------------------------------------------------------------------------------

@dataclass
class _File:
    entry: dict  # the manifest entry (mutated in place)
    ds: Dataset
    header: list[str]
    rows: list[list[str]]
    raw_lines: dict[int, str] = field(default_factory=dict)  # row index -> line written verbatim
    write_encoding: str | None = None
    terminator: str = "\n"
    bom: bool = False
    keep_manifest_sha: bool = False
    rows_delta: int = 0
    post: Callable[[bytes], bytes] | None = None
    delete: bool = False

    def col(self, name: str) -> int:
        return self.header.index(name)

    def render(self) -> bytes:
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=",", quotechar='"', doublequote=True, quoting=csv.QUOTE_MINIMAL,
                       lineterminator=self.terminator)
        w.writerow(self.header)
        for i, r in enumerate(self.rows):
            if i in self.raw_lines:
                buf.write(self.raw_lines[i] + self.terminator)
            else:
                w.writerow(r)
        data = buf.getvalue().encode(self.write_encoding or self.entry["encoding"])
        if self.bom:
            data = b"\xef\xbb\xbf" + data
        if self.entry.get("compression") == "gzip":
            data = gzip.compress(data, compresslevel=6, mtime=0)
        sha = hashlib.sha256(data).hexdigest()
        if self.post is not None:
            data = self.post(data)
            if not self.keep_manifest_sha:
                sha = hashlib.sha256(data).hexdigest()
        if not self.keep_manifest_sha:
            self.entry["sha256"] = sha
        self.entry["rows"] = len(self.rows) + self.rows_delta
        return data


# --------------------------------------------------------------------------------------------------
# registry helpers for row kinds
# --------------------------------------------------------------------------------------------------

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


def _pick_row(rng, f: _File, col: int) -> int | None:
    cand = [i for i, r in enumerate(f.rows) if r[col] != "" and i not in f.raw_lines]
    return int(cand[rng.integers(len(cand))]) if cand else None


def _choose(rng, items):
    items = list(items)
    return items[int(rng.integers(len(items)))] if items else None


Hit = tuple[int | None, str, str]  # (row index or None, expected rule, detail)


def _set_value(rng, f: _File, cols: list[str], rule_of: Callable[[str], str | None],
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


def _row_bad_check(rng, f: _File, rule_kind: str, alphabet: str) -> Hit | None:
    cols = [c for r in f.ds.rules if r.kind == rule_kind for c in r.columns]

    def wrong(old: str) -> str | None:
        if len(old) != 18:
            return None
        return old[:17] + _choose(rng, [ch for ch in alphabet if ch != old[17]])

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


def _free_text_cols(ds: Dataset) -> list[str]:
    """Free-text columns no rule (but not_null) constrains: where odd text can only be stored."""
    ruled = {c for r in ds.rules if r.kind != "not_null" for c in r.columns}
    return [c.name for c in ds.columns if c.pg_type == "text" and c.name in FREE_TEXT and c.name not in ruled
            and c.name not in ds.key]


def _row_text(value: str) -> Callable:
    def apply(rng, f, _ctx) -> Hit | None:
        return _set_value(rng, f, _free_text_cols(f.ds), lambda c: "-", lambda old: value)
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
    "formula_text": lambda ds: bool(_free_text_cols(ds)),
    "sql_text": lambda ds: bool(_free_text_cols(ds)),
    "loan_unknown_customer": lambda ds: ds.name == "loan",
    "report_detail_mismatch": lambda ds: ds.name == "asset_quality",
}


# --------------------------------------------------------------------------------------------------
# file kinds
# --------------------------------------------------------------------------------------------------

def _wf_rule(entry: dict) -> str:
    return f"well_formed_{entry['encoding'].replace('-', '')}_csv"


def _file_unquoted(rng, f: _File, _ctx) -> Hit | None:
    cols = [c for c in _free_text_cols(f.ds) if c in f.header] or \
           [c.name for c in f.ds.columns if c.pg_type == "text" and c.name not in f.ds.key]
    for c in rng.permutation(np.array(cols, dtype=object)).tolist() if cols else []:
        j = f.col(c)
        cand = [i for i, r in enumerate(f.rows) if not any(ch in v for v in r for ch in ',"\r\n')]
        if not cand:
            return None
        i = int(cand[rng.integers(len(cand))])
        fields = list(f.rows[i])
        fields[j] = (fields[j] or "备注") + ",另见附件"
        f.raw_lines[i] = ",".join(fields)
        return i, _wf_rule(f.entry), f"{c} holds an unquoted ',': one extra field on this line"
    return None


def _file_encoding(rng, f: _File, _ctx) -> Hit | None:
    if f.entry["encoding"] != "utf-8":
        return None
    i = next((i for i, r in enumerate(f.rows) if any(not v.isascii() for v in r)), None)
    if i is None:
        return None
    f.write_encoding = "gb18030"
    return i, "well_formed_utf8_csv", "GB18030 bytes declared utf-8; the first non-ASCII record is named"


def _file_truncated(rng, f: _File, _ctx) -> Hit | None:
    if not f.rows:
        return None
    f.keep_manifest_sha = True
    if f.entry.get("compression") == "gzip":
        f.post = lambda data: data[: max(10, int(len(data) * 0.6))]
        return None, "manifest_sha256", "gzip file cut at 60% of its bytes"
    i = int(rng.integers(len(f.rows)))
    f.rows = f.rows[: i + 1]  # the manifest keeps the original sha256 and row count (see _apply_file)

    def cut(data: bytes) -> bytes:
        last = data.rsplit(b"\n", 2)[-2]
        return data[: -(len(last) // 2 + 1)]

    f.post = cut
    return i, "manifest_sha256", "file ends in the middle of this line (transfer cut short)"


def _file_corrupt_gzip(rng, f: _File, _ctx) -> Hit | None:
    if f.entry.get("compression") != "gzip" or not f.rows:
        return None

    def damage(data: bytes) -> bytes:
        if len(data) < 40:
            return data
        mid = len(data) // 2
        n = min(16, len(data) - 8 - mid)
        return data[:mid] + bytes(b ^ 0xFF for b in data[mid: mid + n]) + data[mid + n:]

    f.post = damage
    return None, "gzip_integrity", "16 bytes inverted in the middle of the gzip stream"


def _file_extra_col(rng, f: _File, _ctx) -> Hit | None:
    f.header = [*f.header, "remark"]
    f.rows = [[*r, ""] for r in f.rows]
    return None, "header_matches_registry", "extra column 'remark' at the end"


def _file_missing_col(rng, f: _File, _ctx) -> Hit | None:
    cols = [c.name for c in f.ds.columns if c.name not in f.ds.key] or f.ds.column_names
    c = _choose(rng, cols)
    j = f.col(c)
    f.header = f.header[:j] + f.header[j + 1:]
    f.rows = [r[:j] + r[j + 1:] for r in f.rows]
    return None, "header_matches_registry", f"column {c} left out"


def _file_reordered(rng, f: _File, _ctx) -> Hit | None:
    j = int(rng.integers(len(f.header) - 1))
    order = list(range(len(f.header)))
    order[j], order[j + 1] = order[j + 1], order[j]
    f.header = [f.header[k] for k in order]
    f.rows = [[r[k] for k in order] for r in f.rows]
    return None, "header_matches_registry", f"columns {f.header[j + 1]} and {f.header[j]} swapped"


def _file_row_count(rng, f: _File, _ctx) -> Hit | None:
    delta = int(_choose(rng, [d for d in (-2, -1, 1, 2) if len(f.rows) + d >= 0]))
    f.rows_delta = delta
    return None, "manifest_row_count", f"manifest declares {len(f.rows) + delta} rows, the file holds {len(f.rows)}"


def _file_sha(rng, f: _File, _ctx) -> Hit | None:
    f.keep_manifest_sha = True
    f.post = lambda data: data
    f.entry["sha256"] = hashlib.sha256(b"defect:" + f.entry["file"].encode() + bytes(rng.bytes(8))).hexdigest()
    return None, "manifest_sha256", "manifest sha256 belongs to another file"


def _file_missing(rng, f: _File, _ctx) -> Hit | None:
    f.delete = True
    return None, "file_present", "file not delivered"


def _file_bom(rng, f: _File, _ctx) -> Hit | None:
    if f.entry["encoding"] != "utf-8":
        return None
    f.bom = True
    return None, "-", "UTF-8 BOM before the header"


def _file_crlf(rng, f: _File, _ctx) -> Hit | None:
    f.terminator = "\r\n"
    return None, "-", "CRLF line endings"


FILE_APPLY: dict[str, Callable] = {
    "unquoted_delimiter": _file_unquoted, "wrong_declared_encoding": _file_encoding,
    "truncated_file": _file_truncated, "corrupt_gzip": _file_corrupt_gzip, "extra_column": _file_extra_col,
    "missing_column": _file_missing_col, "reordered_columns": _file_reordered,
    "manifest_row_count": _file_row_count, "manifest_sha256": _file_sha, "file_missing": _file_missing,
    "bom_at_start": _file_bom, "crlf_line_endings": _file_crlf,
}
FILE_APPLIES: dict[str, Callable[[dict], bool]] = {
    "wrong_declared_encoding": lambda e: e["encoding"] == "utf-8" and e["rows"] > 0,
    "bom_at_start": lambda e: e["encoding"] == "utf-8",
    "corrupt_gzip": lambda e: e.get("compression") == "gzip" and e["rows"] > 0,
    "truncated_file": lambda e: e["rows"] > 0,
    "unquoted_delimiter": lambda e: e["rows"] > 0,
}


# --------------------------------------------------------------------------------------------------
# planning
# --------------------------------------------------------------------------------------------------

@dataclass
class _Sub:
    path: Path
    manifest: dict


def _applies(kind: str, sub: _Sub, entry: dict | None) -> bool:
    k = CATALOGUE[kind]
    if k.level == "submission":
        if kind == "resubmission_corrected":
            return any(e["rows"] >= 2 for e in sub.manifest["files"])
        if kind == "late_submission":
            return _lag_days(sub.manifest) <= DEADLINE_DAYS
        return True
    if entry is None:
        return False
    if k.level == "row":
        return entry["rows"] > 0 and ROW_DATASETS[kind](DATASETS[entry["dataset"]])
    return FILE_APPLIES.get(kind, lambda e: True)(entry)


def _lag_days(manifest: dict) -> int:
    return (datetime.fromisoformat(manifest["submitted_at"]).date() - date.fromisoformat(manifest["period"])).days


Plan = dict[str, dict]  # submission_id -> {"submission": kind | None, "files": {file: kind}}


def _targets(subs: list[_Sub], kind: str, plan: Plan) -> list[tuple[str, str | None]]:
    out = []
    level = CATALOGUE[kind].level
    for s in subs:
        sid = s.manifest["submission_id"]
        p = plan.get(sid, {"submission": None, "files": {}})
        if p["submission"]:
            continue
        if level == "submission":
            if not p["files"] and _applies(kind, s, None):
                out.append((sid, None))
        else:
            out += [(sid, e["file"]) for e in s.manifest["files"]
                    if e["file"] not in p["files"] and _applies(kind, s, e)]
    return out


def plan_defects(subs: list[_Sub], config: DefectConfig, seed: int, *, min_each: bool = True) -> Plan:
    """Which defect goes where: a submission gets one submission-level kind or file kinds, a file at
    most one kind. Rates per file / submission; then ``min_each`` for kinds still missing."""
    plan: Plan = {}
    rates = {k: float(config.rates.get(k, 0.0)) for k in CATALOGUE}
    by_month: dict[str, list[_Sub]] = {}
    for s in subs:
        by_month.setdefault(s.manifest["period"], []).append(s)
    for month in sorted(by_month):
        rng = stream(seed, "defects", month)
        for s in by_month[month]:
            sid = s.manifest["submission_id"]
            kinds = [k for k in SUBMISSION_KINDS if rates[k] > 0 and _applies(k, s, None)]
            u = rng.random()
            chosen = _draw(kinds, rates, u)
            files = {}
            if chosen is None:
                for e in s.manifest["files"]:
                    fk = [k for k in ROW_KINDS + FILE_KINDS if rates[k] > 0 and _applies(k, s, e)]
                    got = _draw(fk, rates, rng.random())
                    if got:
                        files[e["file"]] = got
            if chosen or files:
                plan[sid] = {"submission": chosen, "files": files}
    if min_each and config.min_each > 0:
        rng = stream(seed, "defects", "min_each")
        for kind in CATALOGUE:
            if rates[kind] <= 0:
                continue
            have = sum(1 for p in plan.values() if p["submission"] == kind or kind in p["files"].values())
            for _ in range(config.min_each - have):
                cand = _targets(subs, kind, plan)
                if not cand:
                    break
                sid, file = cand[int(rng.integers(len(cand)))]
                p = plan.setdefault(sid, {"submission": None, "files": {}})
                if file is None:
                    p["submission"] = kind
                else:
                    p["files"][file] = kind
    return plan


def _draw(kinds: list[str], rates: dict[str, float], u: float) -> str | None:
    """Kind ``u`` falls on: cumulative rates (normalised when they sum to more than 1), else None."""
    total = sum(rates[k] for k in kinds)
    if not kinds or total <= 0 or u >= total:
        return None
    norm = max(total, 1.0)
    acc = 0.0
    for k in kinds:
        acc += rates[k] / norm
        if u < acc:
            return k
    return kinds[-1]


# --------------------------------------------------------------------------------------------------
# applying
# --------------------------------------------------------------------------------------------------

def _record(sub: _Sub, kind: str, dataset: str = "", file: str = "", row: int | None = None,
            rule: str = "", detail: str = "") -> dict:
    m = sub.manifest
    k = CATALOGUE[kind]
    rule = "" if rule in ("-", None) else rule
    return {"submission_id": m["submission_id"], "institution_code": m["institution_code"], "period": m["period"],
            "dataset": dataset, "file": file, "line": "" if row is None else row + 2,
            "record": "" if row is None else row + 1, "kind": kind, "expected_outcome": k.outcome,
            "expected_rule": rule, "detail": detail}


def _swap_in(tmp: Path, final: Path) -> None:
    old = final.parent / f".{final.name}.old"
    if old.exists():
        shutil.rmtree(old)
    os.rename(final, old)
    os.rename(tmp, final)
    shutil.rmtree(old)


def _replace(path: Path, data: bytes) -> None:
    """Write ``path`` as a new file: the working copy's files are hard links to the originals."""
    path.unlink(missing_ok=True)
    path.write_bytes(data)


def _link_copy(src: Path, dst: Path) -> None:
    """A working copy of a submission folder; files are hard-linked (never written through, see
    :func:`_replace`) where the file system allows it."""
    def link(a, b):
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)

    shutil.copytree(src, dst, copy_function=link)


def _write_manifest(path: Path, manifest: dict) -> None:
    _replace(path, (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


def _apply_submission(sub: _Sub, p: dict, seed: int) -> list[dict]:
    sid = sub.manifest["submission_id"]
    rng = stream(seed, "defects", "apply", sid)
    tmp = sub.path.parent / f".{sid}.defects.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    _link_copy(sub.path, tmp)
    records: list[dict] = []
    try:
        manifest = json.loads(json.dumps(sub.manifest))
        kind = p["submission"]
        manifest_bytes: bytes | None = None
        if kind == "unknown_dataset":
            name = f"{UNKNOWN_DATASET}.csv"
            data = b"collateral_id,loan_id,value\nK0000000001,L0000000001,100000.00\n"
            (tmp / name).write_bytes(data)
            manifest["files"].append({"dataset": UNKNOWN_DATASET, "file": name, "encoding": "utf-8", "delimiter": ",",
                                      "compression": None, "rows": 1, "sha256": hashlib.sha256(data).hexdigest()})
            records.append(_record(sub, kind, UNKNOWN_DATASET, name, None, "manifest_dataset_known",
                                   "whole submission refused: the manifest names an unregistered dataset"))
        elif kind == "malformed_manifest_json":
            body = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
            manifest_bytes = body[: int(len(body) * 0.7)]
            records.append(_record(sub, kind, "", MANIFEST_NAME, None, "manifest_json",
                                   "whole submission refused: manifest.json cut at 70%"))
        elif kind == "late_submission":
            period = date.fromisoformat(manifest["period"])
            days = DEADLINE_DAYS + int(rng.integers(5, 41))
            when = datetime.combine(period + timedelta(days=days), datetime.min.time(), CST) + timedelta(
                hours=int(rng.integers(9, 18)), minutes=int(rng.integers(60)))
            before = manifest["submitted_at"]
            manifest["submitted_at"] = when.isoformat(timespec="seconds")
            records.append(_record(sub, kind, "", MANIFEST_NAME, None, "",
                                   f"submitted_at {before} -> {manifest['submitted_at']} ({days} days after the "
                                   "period)"))
        elif kind == "resubmission_corrected":
            records += _resubmit(sub, manifest, tmp, rng)
        for fname, fkind in p["files"].items():
            entry = next(e for e in manifest["files"] if e["file"] == fname)
            rec = _apply_file(sub, tmp, entry, fkind, rng)
            if rec:
                records.append(rec)
        if manifest_bytes is None:
            if manifest == sub.manifest and not records:
                shutil.rmtree(tmp)
                return []
            _write_manifest(tmp / MANIFEST_NAME, manifest)
        else:
            _replace(tmp / MANIFEST_NAME, manifest_bytes)
        _swap_in(tmp, sub.path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return records


def _load(tmp: Path, entry: dict) -> _File:
    header, rows = read_data_file(tmp / entry["file"], encoding=entry["encoding"], compression=entry["compression"],
                                  delimiter=entry["delimiter"])
    return _File(entry=entry, ds=DATASETS[entry["dataset"]], header=header, rows=rows)


def _apply_file(sub: _Sub, tmp: Path, entry: dict, kind: str, rng) -> dict | None:
    f = _load(tmp, entry)
    fn = ROW_APPLY.get(kind) or FILE_APPLY[kind]
    declared = len(f.rows)
    hit = fn(rng, f, None)
    if hit is None:
        return None
    row, rule, detail = hit
    if f.delete:
        (tmp / entry["file"]).unlink()
    else:
        data = f.render()
        if kind == "truncated_file":
            entry["rows"] = declared
        _replace(tmp / entry["file"], data)
    if kind == "manifest_row_count":
        row = None
    return _record(sub, kind, entry["dataset"], entry["file"], row, rule, detail)


def _resubmit(sub: _Sub, manifest: dict, tmp: Path, rng) -> list[dict]:
    """v2 = the original files, submitted days later; v1 (``tmp``) loses the last record of one file."""
    m = sub.manifest
    v = int(m["version"]) + 1
    period = date.fromisoformat(m["period"])
    sid2 = submission_id(m["institution_code"], period, v)
    final2 = sub.path.parent / sid2
    if final2.exists():
        return []
    tmp2 = sub.path.parent / f".{sid2}.tmp"
    if tmp2.exists():
        shutil.rmtree(tmp2)
    _link_copy(sub.path, tmp2)
    m2 = json.loads(json.dumps(m))
    m2["submission_id"], m2["version"] = sid2, v
    m2["submitted_at"] = (datetime.fromisoformat(m["submitted_at"]) + timedelta(days=int(rng.integers(3, 21)))
                          ).isoformat(timespec="seconds")
    _write_manifest(tmp2 / MANIFEST_NAME, m2)
    os.rename(tmp2, final2)
    entry = _choose(rng, [e for e in manifest["files"] if e["rows"] >= 2])
    f = _load(tmp, entry)
    row = len(f.rows) - 1
    f.rows = f.rows[:-1]
    _replace(tmp / entry["file"], f.render())
    return [_record(sub, "resubmission_corrected", entry["dataset"], entry["file"], row, "",
                    f"v1 lacks this record; {sid2} (complete) supersedes it")]


def inject(landing_dir: Path, subs: Iterable[Path], config: DefectConfig, seed: int, *,
           min_each: bool = True) -> pd.DataFrame:
    """Inject defects into the submission folders ``subs`` (already written under ``landing_dir``);
    returns the defect records (see the module docstring)."""
    config = resolve(config)
    if not config.enabled:
        return pd.DataFrame(columns=DEFECT_COLUMNS)
    loaded = [_Sub(Path(p), json.loads((Path(p) / MANIFEST_NAME).read_text(encoding="utf-8")))
              for p in sorted(subs)]
    plan = plan_defects(loaded, config, seed, min_each=min_each)
    records: list[dict] = []
    for s in loaded:
        p = plan.get(s.manifest["submission_id"])
        if p:
            records += _apply_submission(s, p, seed)
    return pd.DataFrame(records, columns=DEFECT_COLUMNS)


def write_defects(ground_truth_dir: Path, defects: pd.DataFrame, *, append: bool = False) -> Path:
    """Write (or extend) ``ground_truth/defects.csv``, sorted by submission, file and line."""
    gt = Path(ground_truth_dir)
    gt.mkdir(parents=True, exist_ok=True)
    path = gt / DEFECTS_CSV
    frame = defects
    if append and path.exists():
        old = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame = pd.concat([old, defects.astype(str)], ignore_index=True)
    frame = frame.astype(str).replace({"nan": "", "None": ""})
    frame = frame.sort_values(["period", "submission_id", "file", "kind"], kind="stable")[list(DEFECT_COLUMNS)]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    os.replace(tmp, path)
    return path


def read_defects(ground_truth_dir: Path) -> pd.DataFrame:
    return pd.read_csv(Path(ground_truth_dir) / DEFECTS_CSV, dtype=str, keep_default_na=False)


def catalogue_frame() -> pd.DataFrame:
    """The catalogue as a table (README, CLI)."""
    return pd.DataFrame([{"kind": k.name, "level": k.level, "expected_outcome": k.outcome, "expected_rule": k.rule,
                          "default_rate": k.default_rate, "description": k.description}
                         for k in CATALOGUE.values()])
