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
    (the column equals the submission's period), ratio_between (params num, den, min, max),
    column_pair_le (columns A <= B), references and reconciles (below).

    ``not_null`` is never written by hand: every dataset gets exactly one, ``<dataset>_not_null``,
    derived from its ``nullable=False`` columns (:meth:`Dataset.__post_init__`).

    ``references`` (cross-dataset, within the institution): every non-empty value of ``columns[0]``
    must exist as ``params["target_column"]`` in one of ``params["datasets"]`` for the same
    institution, among rows already accepted (``raw``, any version) or submitted and quarantined
    (``quarantine``: the reference is right even if that file was stopped), with a period equal to
    (``params["period"] == "same"``) or not after (``"up_to"``) the row's period. The referenced
    datasets are processed first in a run (:func:`processing_order`).

    ``reconciles`` (a prudential figure vs the detail): ``columns[0]`` must equal the sum of
    ``params["measure"]`` over ``params["dataset"]`` rows of the same institution and period (the
    quarter-end month) in the currently *accepted* detail batch, optionally only rows whose
    ``params["filter_column"]`` is in ``params["filter_values"]``, within a tolerance of
    ``max(params["abs_tolerance"], params["rel_tolerance"] * |detail sum|)``. When no detail is
    accepted for that institution and period (not submitted, or quarantined) there is nothing to
    reconcile and the rule passes for that row.
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
    """``submitter``: ``institution`` (each supervised institution submits its own rows) or
    ``regulator`` (the supervisory system submits them under the pseudo-institution
    :data:`REGULATOR_CODE`; an ``institution_code`` column then names the institution concerned)."""

    name: str
    family: Literal["detail", "prudential", "supervisory"]
    grain: Literal["month", "quarter"]
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    period_column: str
    rules: tuple[Rule, ...]
    en: str = ""
    zh: str = ""
    submitter: Literal["institution", "regulator"] = "institution"

    def __post_init__(self) -> None:
        """Derive the dataset's one ``not_null`` rule from its ``nullable=False`` columns."""
        required = tuple(c.name for c in self.columns if not c.nullable)
        derived = Rule(f"{self.name}_not_null", "not_null", required,
                       en=f"Mandatory fields of {self.name} must be present ({', '.join(required)})",
                       zh=f"{self.zh}必填字段不能为空")
        declared = [r for r in self.rules if r.kind == "not_null"]
        if len(declared) == 1 and declared[0].columns == required:  # dataclasses.replace() of a dataset
            return
        if declared:
            raise ValueError(f"dataset {self.name!r}: not_null rules are derived from Column(nullable=False), "
                             "do not declare them")
        if required:
            object.__setattr__(self, "rules", (derived, *self.rules))

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def depends_on(self) -> tuple[str, ...]:
        """Datasets this one's cross-dataset rules read (they must be processed first)."""
        out: list[str] = []
        for r in self.rules:
            if r.kind == "references":
                out += list(r.params["datasets"])
            elif r.kind == "reconciles":
                out.append(r.params["dataset"])
        return tuple(dict.fromkeys(out))

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

#: A submission is due this many days after its period ends, per dataset grain (the end of that day,
#: China Standard Time). The feedback report and ops.dq_summary (migration 005) judge "on time" by it.
DUE_DAYS: dict[str, int] = {"month": 30, "quarter": 30}
DUE_TIMEZONE = "Asia/Shanghai"

#: The regulator's own supervisory system submits as this pseudo-institution (landing/REG0000/...).
REGULATOR_CODE = "REG0000"

INSTITUTION = Dataset(
    name="institution",
    family="detail",
    grain="month",
    en="Institution master record, submitted by each institution about itself every month.",
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

# --------------------------------------------------------------------------------------------------
# Helpers for the datasets below
# --------------------------------------------------------------------------------------------------

#: GB/T 4754-2017 industry sections (门类) used in the detail datasets.
INDUSTRY_SECTIONS = tuple("ABCDEFGHIJKLMNOPQRST")
FIVE_CATEGORIES = ("正常", "关注", "次级", "可疑", "损失")
LOAN_PURPOSES = ("流动资金", "固定资产投资", "房地产开发", "融资租赁", "个人住房按揭", "个人消费", "个人经营")
SUPERVISORY_RATINGS = ("1", "2", "3", "4", "5", "6", "S")
_ACCOUNT_RE = r"^[0-9]{19}$"
_REGION_RE = r"^[0-9]{6}$"


def _inst_col(zh: str = "机构代码", en: str = "Institution code") -> Column:
    return Column("institution_code", "text", False, en=en, zh=zh)


def _period_col(grain: str = "month") -> Column:
    end = "month end" if grain == "month" else "quarter end"
    return Column("report_period", "date", False, en=f"Reporting period end date ({end})", zh="报告期")


def _money(name: str, en: str, zh: str, nullable: bool = False) -> Column:
    return Column(name, _MONEY, nullable, en=en + " (CNY)", zh=zh)


def _r_unique(ds: str, key: tuple[str, ...], zh_what: str) -> Rule:
    return Rule(f"{ds}_key_unique", "unique", key, en=f"One {ds} row per key {', '.join(key)}",
                zh=f"{zh_what}主键不能重复")


def _r_period() -> Rule:
    return Rule("report_period_matches", "period_match", ("report_period",),
                en="Report period must equal the submission's period", zh="报告期须与报送期一致")


def _r_non_negative(ds: str, cols: tuple[str, ...]) -> Rule:
    return Rule(f"{ds}_amounts_non_negative", "between", cols, params={"min": 0, "max": 1e16},
                en="Amounts must not be negative", zh="金额不能为负")


def _r_customer_known(ds: str, zh_what: str) -> Rule:
    return Rule(f"{ds}_customer_known", "references", ("customer_id",), severity="warning",
                params={"datasets": ["customer_corporate", "customer_individual"], "target_column": "customer_id",
                        "period": "up_to"},
                en=f"The {ds}'s customer must have been submitted (customer tables, this period or earlier)",
                zh=f"{zh_what}的客户须已在对公或个人客户信息表中报送（本期或以前各期）")


#: reconciliation tolerance: max(1 CNY, 0.1% of the detail's sum)
RECONCILE_TOLERANCE = {"abs_tolerance": 1.0, "rel_tolerance": 0.001}
NPL_CATEGORIES = ("次级", "可疑", "损失")


def _r_loans_reconcile(ds: str, zh_what: str) -> Rule:
    return Rule(f"{ds}_total_loans_reconcile", "reconciles", ("total_loans",), severity="warning",
                params={"dataset": "loan", "measure": "balance", **RECONCILE_TOLERANCE},
                en="Total loans must equal the sum of the quarter-end month's loan detail balances "
                   "(tolerance: 1 CNY or 0.1%)",
                zh=f"{zh_what}各项贷款须与季末月贷款借据余额合计一致（容差1元或0.1%）")


def _r_in(name: str, col: str, values, en: str, zh: str, severity: Severity = "critical") -> Rule:
    return Rule(name, "in_set", (col,), severity=severity, params={"values": list(values)}, en=en, zh=zh)


# --------------------------------------------------------------------------------------------------
# Regulatory detail (EAST / 一表通-like), per institution per month
# --------------------------------------------------------------------------------------------------

CUSTOMER_CORPORATE = Dataset(
    name="customer_corporate",
    family="detail",
    grain="month",
    en="Corporate customers: new in the month, plus every existing one in an institution's first "
       "submitted month (changes are resubmitted as new rows; latest wins).",
    zh="对公客户信息表",
    columns=(
        _inst_col(), _period_col(),
        Column("customer_id", "text", False, en="Customer number within the institution", zh="客户号"),
        Column("uscc", "text", False, en="Unified social credit code", zh="统一社会信用代码"),
        Column("name", "text", False, en="Registered name", zh="客户名称"),
        Column("industry_code", "text", False, en="Industry section (GB/T 4754-2017)", zh="行业门类"),
        Column("region_code", "text", False, en="Registered region (GB/T 2260)", zh="注册地行政区划"),
        _money("registered_capital", "Registered capital", "注册资本"),
        Column("founded_date", "date", False, en="Date founded", zh="成立日期"),
        Column("legal_rep_name", "text", False, pii="name", en="Legal representative's name", zh="法定代表人姓名"),
        Column("legal_rep_resident_id", "text", False, pii="resident_id",
               en="Legal representative's resident ID number", zh="法定代表人身份证号"),
        Column("onboard_date", "date", False, en="Date the customer relationship began", zh="建立客户关系日期"),
    ),
    key=("institution_code", "report_period", "customer_id"),
    period_column="report_period",
    rules=(
        _r_unique("customer_corporate", ("institution_code", "report_period", "customer_id"), "对公客户"),
        Rule("customer_corporate_uscc", "uscc", ("uscc",), en="USCC must carry a valid check character",
             zh="统一社会信用代码校验码须正确"),
        Rule("customer_corporate_legal_rep_id", "resident_id", ("legal_rep_resident_id",),
             en="Legal representative's ID must carry a valid check digit", zh="法定代表人身份证号校验码须正确"),
        _r_in("customer_corporate_industry_known", "industry_code", INDUSTRY_SECTIONS,
              "Industry must be a GB/T 4754 section letter", "行业须为国民经济行业分类门类代码"),
        Rule("customer_corporate_region_format", "regex", ("region_code",), params={"pattern": _REGION_RE},
             en="Region code must be 6 digits", zh="行政区划代码须为6位数字"),
        _r_non_negative("customer_corporate", ("registered_capital",)),
        Rule("customer_corporate_founded_before_onboard", "column_pair_le", ("founded_date", "onboard_date"),
             severity="warning", en="A firm is founded before it becomes a customer", zh="成立日期应早于建立关系日期"),
        _r_period(),
    ),
)

CUSTOMER_INDIVIDUAL = Dataset(
    name="customer_individual",
    family="detail",
    grain="month",
    en="Individual customers: new in the month, plus every existing one in an institution's first "
       "submitted month.",
    zh="个人客户信息表",
    columns=(
        _inst_col(), _period_col(),
        Column("customer_id", "text", False, en="Customer number within the institution", zh="客户号"),
        Column("resident_id", "text", False, pii="resident_id", en="Resident ID number (GB 11643)", zh="身份证号"),
        Column("name", "text", False, pii="name", en="Name", zh="姓名"),
        Column("sex", "text", False, en="Sex (男/女)", zh="性别"),
        Column("birth_date", "date", False, en="Date of birth", zh="出生日期"),
        Column("phone", "text", True, pii="phone", en="Mobile phone number", zh="手机号码"),
        Column("region_code", "text", False, en="Region of household registration (GB/T 2260)", zh="户籍地行政区划"),
        Column("onboard_date", "date", False, en="Date the customer relationship began", zh="建立客户关系日期"),
    ),
    key=("institution_code", "report_period", "customer_id"),
    period_column="report_period",
    rules=(
        _r_unique("customer_individual", ("institution_code", "report_period", "customer_id"), "个人客户"),
        Rule("customer_individual_resident_id", "resident_id", ("resident_id",),
             en="Resident ID must carry a valid check digit and birth date", zh="身份证号校验码及出生日期须正确"),
        _r_in("customer_individual_sex_known", "sex", ("男", "女"), "Sex must be 男 or 女", "性别须为男或女"),
        Rule("customer_individual_phone_format", "regex", ("phone",), params={"pattern": r"^1[3-9][0-9]{9}$"},
             severity="warning", en="Phone must be an 11-digit mobile number", zh="手机号码须为11位"),
        Rule("customer_individual_born_before_onboard", "column_pair_le", ("birth_date", "onboard_date"),
             en="A customer is born before the relationship begins", zh="出生日期须早于建立关系日期"),
        _r_period(),
    ),
)

ACCOUNT = Dataset(
    name="account",
    family="detail",
    grain="month",
    en="Deposit accounts: opened in the month or whose status changed (frozen, closed), plus every "
       "existing one in an institution's first submitted month.",
    zh="账户信息表",
    columns=(
        _inst_col(), _period_col(),
        Column("account_no", "text", False, pii="account", en="Account number (19 digits)", zh="账号"),
        Column("customer_id", "text", False, en="Customer number (customer tables)", zh="客户号"),
        Column("customer_type", "text", False, en="Customer type (个人 individual / 对公 corporate)", zh="客户类型"),
        Column("account_type", "text", False, en="Account type", zh="账户类型"),
        Column("currency", "text", False, en="Currency (ISO 4217)", zh="币种"),
        Column("open_date", "date", False, en="Date opened", zh="开户日期"),
        Column("status", "text", False, en="Status (正常/冻结/销户)", zh="账户状态"),
    ),
    key=("institution_code", "report_period", "account_no"),
    period_column="report_period",
    rules=(
        _r_unique("account", ("institution_code", "report_period", "account_no"), "账户"),
        Rule("account_no_format", "regex", ("account_no",), params={"pattern": _ACCOUNT_RE},
             en="Account number must be 19 digits", zh="账号须为19位数字"),
        _r_in("account_customer_type_known", "customer_type", ("个人", "对公"), "Customer type must be 个人 or 对公",
              "客户类型须为个人或对公"),
        _r_in("account_status_known", "status", ("正常", "冻结", "销户"), "Status must be 正常, 冻结 or 销户",
              "账户状态须为正常、冻结或销户"),
        _r_in("account_currency_known", "currency", ("CNY", "USD", "EUR", "HKD"), "Currency must be a known code",
              "币种须为已知代码", severity="warning"),
        _r_customer_known("account", "账户"),
        Rule("account_opened_by_period_end", "column_pair_le", ("open_date", "report_period"),
             en="An account is opened on or before the period end", zh="开户日期不能晚于报告期"),
        _r_period(),
    ),
)

LOAN = Dataset(
    name="loan",
    family="detail",
    grain="month",
    en="Loans outstanding at the month end (snapshot), with balance, five-category classification and "
       "days overdue. Borrowers are corporates (USCC) or individuals (resident ID).",
    zh="贷款借据表",
    columns=(
        _inst_col(), _period_col(),
        Column("loan_id", "text", False, en="Loan (drawdown) number", zh="借据号"),
        Column("customer_id", "text", False, en="Customer number", zh="客户号"),
        Column("customer_type", "text", False, en="Borrower type (个人/对公)", zh="借款人类型"),
        Column("borrower_uscc", "text", True, en="Corporate borrower's USCC (empty for individuals)",
               zh="借款人统一社会信用代码"),
        Column("borrower_resident_id", "text", True, pii="resident_id",
               en="Individual borrower's resident ID (empty for corporates)", zh="借款人身份证号"),
        Column("industry_code", "text", True, en="Corporate borrower's industry section", zh="借款人行业门类"),
        Column("purpose", "text", False, en="Loan purpose", zh="贷款用途"),
        Column("collateral_type", "text", False, en="Main collateral type (信用/保证/抵押/质押)", zh="担保方式"),
        _money("contract_amount", "Contract amount", "合同金额"),
        _money("balance", "Outstanding balance at period end", "贷款余额"),
        Column("five_category", "text", False, en="Five-category classification", zh="五级分类"),
        Column("overdue_days", "integer", False, en="Days overdue at period end (0 = current)", zh="逾期天数"),
        Column("interest_rate", "numeric(8,4)", False, en="Annual interest rate, percent", zh="执行利率(%)"),
        Column("start_date", "date", False, en="Drawdown date", zh="发放日期"),
        Column("maturity_date", "date", False, en="Maturity date", zh="到期日期"),
    ),
    key=("institution_code", "report_period", "loan_id"),
    period_column="report_period",
    rules=(
        _r_unique("loan", ("institution_code", "report_period", "loan_id"), "贷款借据"),
        Rule("loan_borrower_uscc", "uscc", ("borrower_uscc",), en="Borrower USCC must carry a valid check character",
             zh="借款人统一社会信用代码校验码须正确"),
        Rule("loan_borrower_resident_id", "resident_id", ("borrower_resident_id",),
             en="Borrower resident ID must carry a valid check digit", zh="借款人身份证号校验码须正确"),
        _r_in("loan_five_category_known", "five_category", FIVE_CATEGORIES,
              "Classification must be one of the five categories", "五级分类须为正常、关注、次级、可疑、损失之一"),
        _r_in("loan_customer_type_known", "customer_type", ("个人", "对公"), "Borrower type must be 个人 or 对公",
              "借款人类型须为个人或对公"),
        _r_in("loan_purpose_known", "purpose", LOAN_PURPOSES, "Purpose must be a known code", "贷款用途须为已知类别",
              severity="warning"),
        _r_in("loan_collateral_known", "collateral_type", ("信用", "保证", "抵押", "质押"),
              "Collateral type must be 信用, 保证, 抵押 or 质押", "担保方式须为信用、保证、抵押或质押"),
        _r_non_negative("loan", ("contract_amount", "balance")),
        Rule("loan_overdue_days_range", "between", ("overdue_days",), params={"min": 0, "max": 20000},
             en="Days overdue must be between 0 and 20000", zh="逾期天数须在0至20000之间"),
        Rule("loan_interest_rate_range", "between", ("interest_rate",), params={"min": 0, "max": 36},
             en="Interest rate must be between 0% and 36%", zh="执行利率须在0%至36%之间"),
        Rule("loan_balance_within_contract", "column_pair_le", ("balance", "contract_amount"),
             en="Balance must not exceed the contract amount", zh="贷款余额不能超过合同金额"),
        Rule("loan_dates_ordered", "column_pair_le", ("start_date", "maturity_date"),
             en="Drawdown must precede maturity", zh="发放日期须早于到期日期"),
        _r_customer_known("loan", "贷款借据"),
        Rule("loan_started_by_period_end", "column_pair_le", ("start_date", "report_period"),
             en="A reported loan is drawn on or before the period end", zh="发放日期不能晚于报告期"),
        _r_period(),
    ),
)

GUARANTEE = Dataset(
    name="guarantee",
    family="detail",
    grain="month",
    en="Guarantees securing loans outstanding at the month end (snapshot): who guarantees whose loan "
       "(guarantor -> borrower), and for how much.",
    zh="担保信息表",
    columns=(
        _inst_col(), _period_col(),
        Column("guarantee_id", "text", False, en="Guarantee contract number", zh="担保合同号"),
        Column("loan_id", "text", False, en="Guaranteed loan (loan dataset)", zh="被担保借据号"),
        Column("borrower_uscc", "text", False, en="Borrower's USCC", zh="借款人统一社会信用代码"),
        Column("guarantor_type", "text", False, en="Guarantor type (企业/个人)", zh="担保人类型"),
        Column("guarantor_uscc", "text", True, en="Corporate guarantor's USCC", zh="担保人统一社会信用代码"),
        Column("guarantor_resident_id", "text", True, pii="resident_id", en="Individual guarantor's resident ID",
               zh="担保人身份证号"),
        Column("guarantor_name", "text", False, pii="name", en="Guarantor's name", zh="担保人名称"),
        _money("guarantee_amount", "Guaranteed amount", "担保金额"),
        Column("guarantee_type", "text", False, en="Guarantee type", zh="保证方式"),
        Column("start_date", "date", False, en="Guarantee start date", zh="担保起始日"),
        Column("end_date", "date", False, en="Guarantee end date", zh="担保到期日"),
    ),
    key=("institution_code", "report_period", "guarantee_id"),
    period_column="report_period",
    rules=(
        _r_unique("guarantee", ("institution_code", "report_period", "guarantee_id"), "担保"),
        Rule("guarantee_borrower_uscc", "uscc", ("borrower_uscc",), en="Borrower USCC must be valid",
             zh="借款人统一社会信用代码校验码须正确"),
        Rule("guarantee_guarantor_uscc", "uscc", ("guarantor_uscc",), en="Guarantor USCC must be valid",
             zh="担保人统一社会信用代码校验码须正确"),
        Rule("guarantee_guarantor_resident_id", "resident_id", ("guarantor_resident_id",),
             en="Guarantor resident ID must be valid", zh="担保人身份证号校验码须正确"),
        _r_in("guarantee_guarantor_type_known", "guarantor_type", ("企业", "个人"),
              "Guarantor type must be 企业 or 个人",
              "担保人类型须为企业或个人"),
        _r_in("guarantee_type_known", "guarantee_type", ("连带责任保证", "一般保证"), "Guarantee type must be known",
              "保证方式须为已知类别"),
        Rule("guarantee_amount_positive", "between", ("guarantee_amount",), params={"min": 0.01, "max": 1e16},
             en="Guaranteed amount must be positive", zh="担保金额须为正数"),
        Rule("guarantee_loan_known", "references", ("loan_id",), severity="warning",
             params={"datasets": ["loan"], "target_column": "loan_id", "period": "same"},
             en="The guaranteed loan must be in the same month's loan detail",
             zh="被担保借据须在同期贷款借据表中报送"),
        Rule("guarantee_dates_ordered", "column_pair_le", ("start_date", "end_date"),
             en="Guarantee must start before it ends", zh="担保起始日须早于到期日"),
        _r_period(),
    ),
)

TRANSACTION = Dataset(
    name="transaction",
    family="detail",
    grain="month",
    en="Account transactions in the month, one row per side held at the reporting institution.",
    zh="交易流水表",
    columns=(
        _inst_col(), _period_col(),
        Column("txn_id", "text", False, en="Transaction serial number", zh="交易流水号"),
        Column("account_no", "text", False, pii="account", en="Account number", zh="账号"),
        Column("txn_time", "timestamptz", False, en="Transaction time (+08:00)", zh="交易时间"),
        Column("direction", "text", False, en="Direction (收 in / 付 out)", zh="收付标志"),
        _money("amount", "Amount", "交易金额"),
        Column("channel", "text", False, en="Channel", zh="交易渠道"),
        Column("counterparty_account", "text", True, pii="account", en="Counterparty account number (empty for cash)",
               zh="对方账号"),
        Column("counterparty_name", "text", True, pii="name", en="Counterparty name", zh="对方户名"),
        Column("counterparty_institution_code", "text", True, en="Counterparty's institution code", zh="对方机构代码"),
        Column("purpose", "text", True, en="Purpose / remark as entered (Chinese free text)", zh="交易用途/摘要"),
    ),
    key=("institution_code", "report_period", "txn_id"),
    period_column="report_period",
    rules=(
        _r_unique("transaction", ("institution_code", "report_period", "txn_id"), "交易流水"),
        Rule("transaction_account_format", "regex", ("account_no",), params={"pattern": _ACCOUNT_RE},
             en="Account number must be 19 digits", zh="账号须为19位数字"),
        Rule("transaction_counterparty_account_format", "regex", ("counterparty_account",),
             params={"pattern": _ACCOUNT_RE}, severity="warning",
             en="Counterparty account should be 19 digits", zh="对方账号应为19位数字"),
        _r_in("transaction_direction_known", "direction", ("收", "付"), "Direction must be 收 or 付",
              "收付标志须为收或付"),
        _r_in("transaction_channel_known", "channel",
              ("柜面", "网上银行", "手机银行", "ATM", "POS", "第三方支付", "批量代发", "代扣"),
              "Channel must be a known channel", "交易渠道须为已知渠道", severity="warning"),
        Rule("transaction_amount_positive", "between", ("amount",), params={"min": 0.01, "max": 1e13},
             en="Amount must be positive", zh="交易金额须为正数"),
        _r_period(),
    ),
)

# --------------------------------------------------------------------------------------------------
# Prudential reports (1104-style), per institution per quarter
# --------------------------------------------------------------------------------------------------


def _prudential(name: str, zh: str, en: str, cols: tuple[Column, ...], extra_rules: tuple[Rule, ...] = ()) -> Dataset:
    return Dataset(
        name=name, family="prudential", grain="quarter", en=en, zh=zh,
        columns=(_inst_col(), _period_col("quarter"), *cols),
        key=("institution_code", "report_period"), period_column="report_period",
        rules=(
                _r_unique(name, ("institution_code", "report_period"), zh),
            _r_period(),
            *extra_rules,
        ),
    )


ASSET_QUALITY = _prudential(
    "asset_quality", "资产质量报表",
    "Quarterly loan quality: balances by five-category classification, NPL, overdue loans and provisions; "
    "equals the sum over the quarter-end month's loan detail.",
    (
        _money("loans_normal", "Loans classified 正常 (normal)", "正常类贷款"),
        _money("loans_special_mention", "Loans classified 关注 (special mention)", "关注类贷款"),
        _money("loans_substandard", "Loans classified 次级 (substandard)", "次级类贷款"),
        _money("loans_doubtful", "Loans classified 可疑 (doubtful)", "可疑类贷款"),
        _money("loans_loss", "Loans classified 损失 (loss)", "损失类贷款"),
        _money("total_loans", "Total loans", "各项贷款"),
        _money("npl_balance", "Non-performing loans (次级+可疑+损失)", "不良贷款余额"),
        _money("overdue_loans", "Loans overdue (any days)", "逾期贷款"),
        _money("overdue_90_loans", "Loans overdue more than 90 days", "逾期90天以上贷款"),
        _money("loan_loss_provision", "Loan loss provisions", "贷款损失准备"),
    ),
    (
        _r_non_negative("asset_quality", ("total_loans", "npl_balance", "loan_loss_provision")),
        Rule("npl_within_total_loans", "column_pair_le", ("npl_balance", "total_loans"),
             en="NPL cannot exceed total loans", zh="不良贷款不能超过各项贷款"),
        Rule("overdue_90_within_overdue", "column_pair_le", ("overdue_90_loans", "overdue_loans"),
             en="Loans overdue 90+ days are part of overdue loans", zh="逾期90天以上贷款不能超过逾期贷款"),
        Rule("asset_quality_npl_reconciles", "reconciles", ("npl_balance",), severity="warning",
             params={"dataset": "loan", "measure": "balance", "filter_column": "five_category",
                     "filter_values": list(NPL_CATEGORIES), **RECONCILE_TOLERANCE},
             en="NPL must equal the quarter-end loan detail's balances classified 次级/可疑/损失 "
                "(tolerance: 1 CNY or 0.1%)",
             zh="不良贷款余额须与季末月贷款借据中次级、可疑、损失类余额合计一致（容差1元或0.1%）"),
        _r_loans_reconcile("asset_quality", "资产质量报表"),
    ),
)

LIQUIDITY = _prudential(
    "liquidity", "流动性报表",
    "Quarterly liquidity: liquidity ratio inputs (liquid assets / liabilities, minimum 25%) and LCR "
    "inputs (HQLA / 30-day net cash outflows, minimum 100%). Banks only.",
    (
        _money("liquid_assets", "Liquid assets", "流动性资产"),
        _money("liquid_liabilities", "Liquid liabilities", "流动性负债"),
        _money("hqla", "High-quality liquid assets", "合格优质流动性资产"),
        _money("net_cash_outflows_30d", "Net cash outflows over the next 30 days", "未来30天现金净流出量"),
    ),
    (
        Rule("liquidity_denominators_positive", "between", ("liquid_liabilities",), params={"min": 0.01, "max": 1e16},
             en="Liquid liabilities must be positive", zh="流动性负债须为正数"),
        Rule("liquidity_outflows_positive", "between", ("net_cash_outflows_30d",), params={"min": 0.01, "max": 1e16},
             en="Net cash outflows must be positive", zh="现金净流出量须为正数"),
        _r_non_negative("liquidity", ("liquid_assets", "hqla")),
    ),
)

CONCENTRATION = _prudential(
    "concentration", "集中度风险报表",
    "Quarterly concentration: largest single customer and top-ten customer exposures, real-estate "
    "development loans and mortgages, total loans (from the loan detail) and net capital (capital report).",
    (
        _money("largest_customer_exposure", "Largest single customer exposure (loan balance)", "最大单一客户贷款余额"),
        _money("top10_customer_exposure", "Top ten customers' exposure", "最大十家客户贷款余额"),
        _money("real_estate_development_loans", "Real-estate development loans", "房地产开发贷款"),
        _money("mortgage_loans", "Residential mortgage loans", "个人住房按揭贷款"),
        _money("total_loans", "Total loans", "各项贷款"),
        _money("net_capital", "Net capital (capital report's total capital)", "资本净额"),
    ),
    (
        Rule("largest_within_top10", "column_pair_le", ("largest_customer_exposure", "top10_customer_exposure"),
             en="Largest customer is part of the top ten", zh="最大单一客户不能超过最大十家客户合计"),
        Rule("top10_within_total", "column_pair_le", ("top10_customer_exposure", "total_loans"),
             en="Top ten customers are part of total loans", zh="最大十家客户不能超过各项贷款"),
        _r_non_negative("concentration", ("total_loans", "net_capital")),
        _r_loans_reconcile("concentration", "集中度风险报表"),
    ),
)

PROFITABILITY = _prudential(
    "profitability", "盈利能力报表",
    "Quarterly profitability: operating income and net profit for the quarter, total and average "
    "total assets (ROA = annualised net profit / average total assets).",
    (
        _money("operating_income", "Operating income for the quarter", "营业收入"),
        _money("net_profit", "Net profit for the quarter (may be negative)", "净利润"),
        _money("total_assets", "Total assets at quarter end", "资产总额"),
        _money("average_total_assets", "Average total assets over the quarter", "平均资产总额"),
    ),
    (
        Rule("average_assets_positive", "between", ("average_total_assets",), params={"min": 0.01, "max": 1e16},
             en="Average total assets must be positive", zh="平均资产总额须为正数"),
    ),
)

DEPOSITS_LOANS = _prudential(
    "deposits_loans", "存贷款报表",
    "Quarterly deposits and loans; loans equal the quarter-end month's loan detail. Banks only.",
    (
        _money("total_deposits", "Total deposits", "各项存款"),
        _money("personal_deposits", "Personal deposits", "个人存款"),
        _money("corporate_deposits", "Corporate deposits", "单位存款"),
        _money("total_loans", "Total loans", "各项贷款"),
        _money("personal_loans", "Personal loans", "个人贷款"),
        _money("corporate_loans", "Corporate loans", "对公贷款"),
    ),
    (_r_non_negative("deposits_loans", ("total_deposits", "total_loans")),
     _r_loans_reconcile("deposits_loans", "存贷款报表")),
)

SOLVENCY = _prudential(
    "solvency", "偿付能力报表",
    "Quarterly insurer solvency (C-ROSS): actual capital, core capital and minimum capital; "
    "comprehensive ratio = actual / minimum (>= 100%), core ratio = core / minimum (>= 50%). Insurers only.",
    (
        _money("actual_capital", "Actual capital", "实际资本"),
        _money("core_capital", "Core capital", "核心资本"),
        _money("minimum_capital", "Minimum capital", "最低资本"),
    ),
    (
        Rule("solvency_minimum_positive", "between", ("minimum_capital",), params={"min": 0.01, "max": 1e16},
             en="Minimum capital must be positive", zh="最低资本须为正数"),
        Rule("core_within_actual", "column_pair_le", ("core_capital", "actual_capital"),
             en="Core capital is part of actual capital", zh="核心资本不能超过实际资本"),
    ),
)

# --------------------------------------------------------------------------------------------------
# The regulator's own records, submitted by its supervisory system as REG0000
# --------------------------------------------------------------------------------------------------

SUPERVISORY_RATING = Dataset(
    name="supervisory_rating",
    family="supervisory",
    grain="quarter",
    submitter="regulator",
    en="Supervisory rating of every institution for the quarter (1 best .. 6 worst; S = under "
       "resolution/special treatment), decided some weeks after the quarter end.",
    zh="监管评级表",
    columns=(
        _inst_col("被评级机构代码", "Rated institution's code"), _period_col("quarter"),
        Column("rating", "text", False, en="Rating (1-6 or S)", zh="监管评级"),
        Column("rated_at", "date", False, en="Date the rating was decided", zh="评级日期"),
    ),
    key=("institution_code", "report_period"),
    period_column="report_period",
    rules=(
        _r_unique("supervisory_rating", ("institution_code", "report_period"), "监管评级"),
        _r_in("supervisory_rating_known", "rating", SUPERVISORY_RATINGS, "Rating must be 1-6 or S",
              "监管评级须为1至6级或S"),
        Rule("rating_after_period", "column_pair_le", ("report_period", "rated_at"),
             en="A quarter is rated after it ends", zh="评级日期须晚于报告期"),
        _r_period(),
    ),
)

INTERVENTION = Dataset(
    name="intervention",
    family="supervisory",
    grain="month",
    submitter="regulator",
    en="Supervisory interventions taken in the month (talks, risk warnings, business restrictions, "
       "rectification orders, takeover).",
    zh="监管措施表",
    columns=(
        _period_col(),
        Column("intervention_id", "text", False, en="Intervention number", zh="监管措施编号"),
        _inst_col("对象机构代码", "Institution concerned"),
        Column("measure_date", "date", False, en="Date taken", zh="采取日期"),
        Column("measure_type", "text", False, en="Measure type", zh="监管措施类型"),
        Column("reason", "text", False, en="Reason (Chinese text)", zh="原因"),
    ),
    key=("report_period", "intervention_id"),
    period_column="report_period",
    rules=(
        _r_unique("intervention", ("report_period", "intervention_id"), "监管措施"),
        _r_in("intervention_type_known", "measure_type", ("监管谈话", "风险提示", "责令整改", "限制业务", "接管"),
              "Measure type must be known", "监管措施类型须为已知类别"),
        Rule("intervention_in_period", "column_pair_le", ("measure_date", "report_period"),
             en="A measure is reported in or after the month it was taken", zh="采取日期不能晚于报告期"),
        _r_period(),
    ),
)

REGULATOR_CASE = Dataset(
    name="regulator_case",
    family="supervisory",
    grain="month",
    submitter="regulator",
    en="Cases opened by the regulator in the month against institutions or firms (illegal fundraising, "
       "enforcement, administrative penalty), with their source.",
    zh="监管案件表",
    columns=(
        _period_col(),
        Column("case_id", "text", False, en="Case number", zh="案件编号"),
        Column("entity_type", "text", False, en="Subject type (机构 institution / 企业 firm)", zh="对象类型"),
        Column("institution_code", "text", True, en="Institution code (subject is an institution)", zh="机构代码"),
        Column("uscc", "text", True, en="Firm's USCC (subject is a firm)", zh="统一社会信用代码"),
        Column("entity_name", "text", False, en="Subject's name", zh="对象名称"),
        Column("case_type", "text", False, en="Case type", zh="案件类型"),
        Column("opened_date", "date", False, en="Date opened", zh="立案日期"),
        Column("source", "text", False, en="Source of the case", zh="案件来源"),
        _money("amount", "Amount involved, if known", "涉案金额", nullable=True),
    ),
    key=("report_period", "case_id"),
    period_column="report_period",
    rules=(
        _r_unique("regulator_case", ("report_period", "case_id"), "监管案件"),
        Rule("regulator_case_uscc", "uscc", ("uscc",), en="Firm USCC must be valid", zh="统一社会信用代码校验码须正确"),
        _r_in("regulator_case_entity_type_known", "entity_type", ("机构", "企业"), "Subject type must be 机构 or 企业",
              "对象类型须为机构或企业"),
        _r_in("regulator_case_type_known", "case_type", ("非法集资", "被执行", "行政处罚", "违规经营"),
              "Case type must be known", "案件类型须为已知类别"),
        _r_in("regulator_case_source_known", "source", ("群众举报", "现场检查", "非现场监管", "公安移送", "法院通报"),
              "Source must be known", "案件来源须为已知类别", severity="warning"),
        Rule("regulator_case_in_period", "column_pair_le", ("opened_date", "report_period"),
             en="A case is reported in or after the month it was opened", zh="立案日期不能晚于报告期"),
        _r_period(),
    ),
)

# Cross-dataset rules implemented (severity warning, see Rule): loan/account customer_id in the customer
# tables (<dataset>_customer_known), guarantee.loan_id in the same month's loans (guarantee_loan_known),
# asset_quality npl_balance/total_loans, deposits_loans and concentration total_loans vs the loan detail
# (*_reconcile*). Not yet: transaction.account_no in account, borrower_uscc/resident_id matching the
# customer, concentration.largest_customer_exposure / net_capital, personal + corporate = total loans.

DATASETS: dict[str, Dataset] = {d.name: d for d in (
    INSTITUTION, CUSTOMER_CORPORATE, CUSTOMER_INDIVIDUAL, ACCOUNT, LOAN, GUARANTEE, TRANSACTION,
    CAPITAL_REPORT, ASSET_QUALITY, LIQUIDITY, CONCENTRATION, PROFITABILITY, DEPOSITS_LOANS, SOLVENCY,
    SUPERVISORY_RATING, INTERVENTION, REGULATOR_CASE,
)}


def processing_order(names) -> list[str]:
    """``names`` ordered so that every dataset comes after the datasets its cross-dataset rules read
    (customers before accounts and loans, loans before guarantees and the prudential reports);
    datasets ready at the same step in alphabetical order."""
    from graphlib import CycleError, TopologicalSorter

    names = set(names)
    order = TopologicalSorter({n: sorted(d.depends_on) for n, d in DATASETS.items()})
    try:
        order.prepare()
    except CycleError as e:
        raise ValueError(f"cycle in dataset dependencies: {' -> '.join(e.args[1])}") from None
    out: list[str] = []
    while order.is_active():
        ready = sorted(order.get_ready())
        out += ready
        order.done(*ready)
    return [n for n in out if n in names]


def get(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; registered: {sorted(DATASETS)}") from None
