"""The defect catalogue: every kind of defect the simulator can plant, with the outcome the pipeline
should reach and the rule that should fire (:data:`CATALOGUE`), and how many to plant
(:class:`DefectConfig`, :func:`resolve`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from simulator.schedule import DEADLINE_DAYS

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



def catalogue_frame() -> pd.DataFrame:
    """The catalogue as a table (README, CLI)."""
    return pd.DataFrame([{"kind": k.name, "level": k.level, "expected_outcome": k.outcome, "expected_rule": k.rule,
                          "default_rate": k.default_rate, "description": k.description}
                         for k in CATALOGUE.values()])
