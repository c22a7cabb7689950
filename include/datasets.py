"""The dataset registry: the one place every submitted dataset is declared.

Each dataset declares its columns (PostgreSQL type, nullability, whether the column is a personal
identifier), its key, its period column and its quality rules with a severity. The landing and raw
DDL, the COPY column list, the Great Expectations suites and dbt's source YAML are derived from (or
checked against) this module, so adding a column is one edit here.

Severity: ``critical`` rejects the whole batch (quarantine); ``warning`` accepts it and records the
finding in ``ops`` and in the feedback report to the institution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["critical", "warning"]
PiiKind = Literal["resident_id", "name", "phone", "account"]


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str
    nullable: bool = True
    pii: PiiKind | None = None
    en: str = ""
    zh: str = ""


@dataclass(frozen=True)
class Rule:
    """A quality rule. ``kind`` maps to a GX expectation (see include/ingest/quality.py).

    kinds: not_null, unique (columns = compound key), between (params min/max), in_set
    (params values), regex (params pattern), uscc, resident_id, lei, period_match
    (the column equals the submission's period), ratio_between (params num, den, min, max).
    """

    name: str
    kind: str
    columns: tuple[str, ...]
    severity: Severity = "critical"
    params: dict = field(default_factory=dict)
    en: str = ""
    zh: str = ""


@dataclass(frozen=True)
class Dataset:
    name: str
    family: Literal["detail", "prudential"]
    grain: Literal["month", "quarter"]
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    period_column: str
    rules: tuple[Rule, ...]
    en: str = ""
    zh: str = ""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"dataset {self.name!r} has no column {name!r}")

    @property
    def pii_columns(self) -> list[Column]:
        return [c for c in self.columns if c.pii]


INSTITUTION_TYPES: dict[str, tuple[str, str]] = {
    # code: (English, Chinese)
    "large_state_bank": ("Large state-owned commercial bank", "大型国有商业银行"),
    "joint_stock_bank": ("Joint-stock commercial bank", "股份制商业银行"),
    "city_commercial_bank": ("City commercial bank", "城市商业银行"),
    "rural_commercial_bank": ("Rural commercial bank", "农村商业银行"),
    "village_bank": ("Village or township bank", "村镇银行"),
    "insurer": ("Insurance company", "保险公司"),
    "consumer_finance": ("Consumer finance company", "消费金融公司"),
    "financial_leasing": ("Financial leasing company", "金融租赁公司"),
    "trust": ("Trust company", "信托公司"),
}

_MONEY = "numeric(20,2)"

INSTITUTION = Dataset(
    name="institution",
    family="detail",
    grain="quarter",
    en="Institution master record, submitted by each institution about itself every period.",
    zh="机构基本信息表",
    columns=(
        Column("institution_code", "text", False, en="Institution code (licence-based)", zh="机构代码"),
        Column("report_period", "date", False, en="Reporting period end date", zh="报告期"),
        Column("licence_no", "text", False, en="Financial licence number", zh="金融许可证号"),
        Column("uscc", "text", False, en="Unified social credit code (GB 32100-2015)", zh="统一社会信用代码"),
        Column("name", "text", False, en="Registered name", zh="机构名称"),
        Column("institution_type", "text", False, en="Institution type", zh="机构类型"),
        Column("bureau_code", "text", False, en="Supervising bureau code", zh="监管局代码"),
        Column("region_code", "text", False, en="Administrative region code (GB/T 2260)", zh="行政区划代码"),
        Column("size_tier", "smallint", False, en="Size tier 1 (largest) to 5", zh="规模档次"),
        Column("established_date", "date", True, en="Date established", zh="成立日期"),
    ),
    key=("institution_code", "report_period"),
    period_column="report_period",
    rules=(
        Rule("institution_code_not_null", "not_null", ("institution_code",),
             en="Institution code is mandatory", zh="机构代码不能为空"),
        Rule("institution_key_unique", "unique", ("institution_code", "report_period"),
             en="One record per institution and period", zh="每机构每期仅一条记录"),
        Rule("uscc_check_character", "uscc", ("uscc",),
             en="USCC must be 18 characters with a valid GB 32100-2015 check character",
             zh="统一社会信用代码须为18位且校验码正确"),
        Rule("institution_type_known", "in_set", ("institution_type",),
             params={"values": sorted(INSTITUTION_TYPES)},
             en="Institution type must be one of the registered types", zh="机构类型须为登记的类型"),
        Rule("size_tier_range", "between", ("size_tier",), params={"min": 1, "max": 5},
             en="Size tier must be between 1 and 5", zh="规模档次须在1至5之间"),
        Rule("report_period_matches", "period_match", ("report_period",),
             en="Report period must equal the submission's period", zh="报告期须与报送期一致"),
    ),
)

CAPITAL_REPORT = Dataset(
    name="capital_report",
    family="prudential",
    grain="quarter",
    en="Quarterly capital adequacy report (1104-style G4 series), amounts in CNY.",
    zh="资本充足率报表",
    columns=(
        Column("institution_code", "text", False, en="Institution code", zh="机构代码"),
        Column("report_period", "date", False, en="Reporting period end date (quarter end)", zh="报告期"),
        Column("cet1_capital", _MONEY, False, en="Common equity tier 1 capital, net", zh="核心一级资本净额"),
        Column("tier1_capital", _MONEY, False, en="Tier 1 capital, net", zh="一级资本净额"),
        Column("total_capital", _MONEY, False, en="Total capital, net", zh="资本净额"),
        Column("credit_rwa", _MONEY, False, en="Credit risk-weighted assets", zh="信用风险加权资产"),
        Column("market_rwa", _MONEY, False, en="Market risk-weighted assets", zh="市场风险加权资产"),
        Column("operational_rwa", _MONEY, False, en="Operational risk-weighted assets", zh="操作风险加权资产"),
        Column("total_rwa", _MONEY, False, en="Total risk-weighted assets", zh="风险加权资产合计"),
    ),
    key=("institution_code", "report_period"),
    period_column="report_period",
    rules=(
        Rule("capital_not_null", "not_null",
             ("institution_code", "cet1_capital", "tier1_capital", "total_capital", "total_rwa"),
             en="Capital and RWA figures are mandatory", zh="资本与风险加权资产不能为空"),
        Rule("capital_key_unique", "unique", ("institution_code", "report_period"),
             en="One report per institution and period", zh="每机构每期仅一份报表"),
        Rule("rwa_positive", "between", ("total_rwa",), params={"min": 0.01, "max": 1e16},
             en="Total RWA must be positive", zh="风险加权资产合计须为正数"),
        Rule("capital_non_negative", "between", ("total_capital",), params={"min": 0, "max": 1e16},
             en="Total capital must not be negative", zh="资本净额不能为负"),
        Rule("report_period_matches", "period_match", ("report_period",),
             en="Report period must equal the submission's period", zh="报告期须与报送期一致"),
        Rule("capital_tiers_ordered", "column_pair_le", ("cet1_capital", "tier1_capital"),
             severity="warning",
             en="CET1 capital should not exceed tier 1 capital", zh="核心一级资本不应超过一级资本"),
    ),
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (INSTITUTION, CAPITAL_REPORT)}


def get(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; registered: {sorted(DATASETS)}") from None
