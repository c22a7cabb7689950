"""The external feed registry: for each feed, its served fields with PostgreSQL types, its natural key
and its quality rules, using the dataset registry's :class:`~include.registry.datasets.Column` and
:class:`~include.registry.datasets.Rule` types. ``raw_ext.<feed>`` and ``raw_ext.<feed>_history`` are created
from it (:func:`include.registry.ddl.feed_ddl`, by the warehouse bootstrap).

Rule kinds used here (checked per record by :mod:`include.external.gate`):

* ``not_null``: the field is present and not null/empty;
* ``uscc``: a valid GB 32100-2015 USCC (checked in PostgreSQL with ``ops.uscc_valid``), optionally only
  when ``params["when"] = (field, value)``;
* ``regex``: the value matches ``params["pattern"]`` (``re.search``), optionally ``when`` as above;
  used to catch truncated text (a name cut before its organisation suffix, a sentence cut mid-way).

Types are checked for every field from its ``pg_type`` (a missing value is the ``not_null`` rule's
business). Severity ``critical`` quarantines the record; ``warning`` loads it and logs the finding.
"""

from __future__ import annotations

from dataclasses import dataclass

from include.registry.datasets import Column, Rule

_MONEY = "numeric(20,2)"
ORG_SUFFIX = r"(公司|合作社|中心|事务所|集团|厂|店|行|社)$"
#: A sentence ends with punctuation (a closing quote or bracket may follow), or the text was capped.
SENTENCE_END = r"[。！？!?…）)”\"]$"

LINEAGE_COLUMNS = ("fetch_id", "request_no", "page_no", "record_index", "fetched_at", "record_sha256", "record")


@dataclass(frozen=True)
class Feed:
    name: str
    key: str
    columns: tuple[Column, ...]  # served fields in order, version and updated_at included
    rules: tuple[Rule, ...]
    en: str = ""
    zh: str = ""
    text_cap: int | None = None  # the source caps this feed's text at this many characters

    @property
    def table(self) -> str:
        return f"raw_ext.{self.name}"

    @property
    def history_table(self) -> str:
        return f"raw_ext.{self.name}_history"

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def mandatory(self) -> tuple[str, ...]:
        return tuple(c for r in self.rules if r.kind == "not_null" for c in r.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"feed {self.name!r} has no field {name!r}")


def _common() -> tuple[Column, ...]:
    return (Column("version", "integer", False, en="Record version (1, +1 per change)", zh="版本"),
            Column("updated_at", "timestamptz", False, en="When this version was published", zh="更新时间"))


def _not_null(feed: str, cols: tuple[str, ...]) -> Rule:
    return Rule(f"{feed}_mandatory", "not_null", cols, en="Mandatory fields present", zh="必填字段不能为空")


REGISTRY = Feed(
    name="registry", key="uscc", en="Enterprise registry: current record per firm", zh="工商登记",
    columns=(
        Column("uscc", "text", False, en="Unified social credit code", zh="统一社会信用代码"),
        Column("name", "text", False, en="Registered name", zh="企业名称"),
        Column("legal_rep_name", "text", False, pii="name", en="Legal representative", zh="法定代表人"),
        Column("registered_capital", _MONEY, en="Registered capital (CNY)", zh="注册资本"),
        Column("status", "text", False, en="Operating status", zh="经营状态"),
        Column("industry_code", "text", en="GB/T 4754 section", zh="行业门类"),
        Column("industry_name", "text", en="Industry", zh="行业"),
        Column("region_code", "text", en="Region code (GB/T 2260)", zh="行政区划代码"),
        Column("address", "text", en="Registered address", zh="注册地址"),
        Column("founded_date", "date", en="Date founded", zh="成立日期"),
        Column("shareholders", "jsonb", en="Shareholders [{name, holder_type, uscc, share_pct}]", zh="股东"),
        *_common(),
    ),
    rules=(
        _not_null("registry", ("uscc", "name", "legal_rep_name", "status", "version", "updated_at")),
        Rule("registry_uscc", "uscc", ("uscc",), en="USCC check character", zh="统一社会信用代码校验"),
        Rule("registry_name_complete", "regex", ("name",), params={"pattern": ORG_SUFFIX},
             en="A registered name ends with its organisation form (a shorter one was truncated)",
             zh="企业名称须以组织形式结尾"),
    ),
)

REGISTRY_CHANGES = Feed(
    name="registry_changes", key="change_id", en="Registry change events", zh="工商变更",
    columns=(
        Column("change_id", "text", False, en="Change id", zh="变更编号"),
        Column("uscc", "text", False, en="USCC of the firm", zh="统一社会信用代码"),
        Column("name", "text", en="Firm name", zh="企业名称"),
        Column("change_type", "text", False, en="Change type", zh="变更事项"),
        Column("change_date", "date", False, en="Change date", zh="变更日期"),
        Column("before", "text", pii="name", en="Value before", zh="变更前"),
        Column("after", "text", pii="name", en="Value after", zh="变更后"),
        *_common(),
    ),
    rules=(
        _not_null("registry_changes", ("change_id", "uscc", "change_type", "change_date", "version", "updated_at")),
        Rule("registry_changes_uscc", "uscc", ("uscc",), en="USCC check character", zh="统一社会信用代码校验"),
        Rule("registry_changes_capital_after", "regex", ("after",),
             params={"pattern": r"^[0-9]+\.[0-9]{2}万元$", "when": ("change_type", "注册资本变更")},
             en="Registered capital after a change is written as N.NN万元", zh="变更后注册资本格式"),
    ),
)

COURT_ENFORCEMENT = Feed(
    name="court_enforcement", key="case_no", en="Court enforcement / dishonest debtors", zh="被执行人/失信被执行人",
    columns=(
        Column("case_no", "text", False, en="Case number", zh="案号"),
        Column("party_type", "text", False, en="Party type (企业/自然人)", zh="当事人类型"),
        Column("party_id", "text", False, pii="resident_id", en="USCC or masked resident id", zh="当事人证件号"),
        Column("party_name", "text", False, pii="name", en="Party name", zh="当事人名称"),
        Column("court", "text", False, en="Court", zh="执行法院"),
        Column("filed_date", "date", False, en="Filed", zh="立案日期"),
        Column("amount", _MONEY, en="Amount to enforce (CNY)", zh="执行标的"),
        Column("list_type", "text", False, en="List (被执行人/失信被执行人)", zh="名单类型"),
        Column("status", "text", False, en="Case status", zh="案件状态"),
        *_common(),
    ),
    rules=(
        _not_null("court_enforcement", ("case_no", "party_type", "party_id", "party_name", "court", "filed_date",
                                        "list_type", "status", "version", "updated_at")),
        Rule("court_party_uscc", "uscc", ("party_id",), params={"when": ("party_type", "企业")},
             en="A firm party's USCC check character", zh="企业当事人统一社会信用代码校验"),
        Rule("court_firm_name_complete", "regex", ("party_name",),
             params={"pattern": ORG_SUFFIX, "when": ("party_type", "企业")},
             en="A firm party's name ends with its organisation form", zh="企业当事人名称完整"),
        Rule("court_name_complete", "regex", ("court",), params={"pattern": "法院$"},
             en="A court's name ends with 法院", zh="法院名称完整"),
    ),
)

PENALTIES = Feed(
    name="penalties", key="decision_no", en="Administrative penalties", zh="行政处罚",
    columns=(
        Column("decision_no", "text", False, en="Decision number", zh="处罚决定书文号"),
        Column("party_type", "text", False, en="Party type (机构/个人)", zh="当事人类型"),
        Column("party_name", "text", False, pii="name", en="Party name", zh="当事人名称"),
        Column("institution_code", "text", False, en="Institution concerned", zh="机构代码"),
        Column("party_uscc", "text", en="Institution's USCC (机构 parties)", zh="统一社会信用代码"),
        Column("party_position", "text", en="Position (个人 parties)", zh="职务"),
        Column("authority", "text", False, en="Deciding authority", zh="作出决定机关"),
        Column("bureau_code", "text", en="Bureau code", zh="监管局代码"),
        Column("decision_date", "date", False, en="Decision date", zh="作出决定日期"),
        Column("penalty_kind", "text", False, en="Penalty", zh="处罚种类"),
        Column("amount_cny", _MONEY, en="Fine (CNY)", zh="罚款金额"),
        Column("reasons", "text", en="Violations", zh="主要违法违规事实"),
        Column("status", "text", en="Status", zh="状态"),
        *_common(),
    ),
    rules=(
        _not_null("penalties", ("decision_no", "party_type", "party_name", "institution_code", "authority",
                                "decision_date", "penalty_kind", "version", "updated_at")),
        Rule("penalties_party_uscc", "uscc", ("party_uscc",), en="USCC check character",
             zh="统一社会信用代码校验"),
        Rule("penalties_inst_name_complete", "regex", ("party_name",),
             params={"pattern": ORG_SUFFIX, "when": ("party_type", "机构")},
             en="An institution party's name ends with its organisation form", zh="机构名称完整"),
    ),
)

DEVELOPER_FINANCIALS = Feed(
    name="developer_financials", key="disclosure_id", zh="房地产开发企业财务披露",
    en="Real-estate developers' quarterly financial disclosures (balance-sheet items; the product computes the "
       "three red lines)",
    columns=(
        Column("disclosure_id", "text", False, en="Disclosure id (USCC-YYYYQn)", zh="披露编号"),
        Column("uscc", "text", False, en="Developer's USCC", zh="统一社会信用代码"),
        Column("name", "text", False, en="Developer's name", zh="企业名称"),
        Column("report_period", "date", False, en="Quarter end reported", zh="报告期"),
        Column("total_assets", _MONEY, False, en="Total assets (CNY)", zh="总资产"),
        Column("total_liabilities", _MONEY, False, en="Total liabilities (CNY)", zh="总负债"),
        Column("advance_receipts", _MONEY, False, en="Advance receipts / contract liabilities (CNY)",
               zh="预收款（合同负债）"),
        Column("cash", _MONEY, False, en="Cash and equivalents, unrestricted (CNY)", zh="货币资金（非受限）"),
        Column("short_term_debt", _MONEY, False, en="Short-term interest-bearing debt, incl. current portion of "
               "long-term debt (CNY)", zh="短期有息负债"),
        Column("long_term_debt", _MONEY, False, en="Long-term interest-bearing debt (CNY)", zh="长期有息负债"),
        Column("equity", _MONEY, False, en="Total equity (CNY)", zh="所有者权益"),
        *_common(),
    ),
    rules=(
        _not_null("developer_financials", ("disclosure_id", "uscc", "name", "report_period", "total_assets",
                                           "total_liabilities", "advance_receipts", "cash", "short_term_debt",
                                           "long_term_debt", "equity", "version", "updated_at")),
        Rule("developer_financials_uscc", "uscc", ("uscc",), en="USCC check character", zh="统一社会信用代码校验"),
        Rule("developer_financials_name_complete", "regex", ("name",), params={"pattern": ORG_SUFFIX},
             en="A developer's name ends with its organisation form", zh="企业名称完整"),
        Rule("developer_financials_period", "regex", ("report_period",),
             params={"pattern": r"-(03-31|06-30|09-30|12-31)$"},
             en="The report period is a quarter end", zh="报告期为季末"),
    ),
)

NEWS = Feed(
    name="news", key="news_id", en="News items (Chinese)", zh="新闻舆情", text_cap=300,
    columns=(
        Column("news_id", "text", False, en="News id", zh="新闻编号"),
        Column("source", "text", False, en="Medium", zh="来源"),
        Column("published_at", "timestamptz", False, en="Published", zh="发布时间"),
        Column("title", "text", en="Title", zh="标题"),
        Column("text", "text", False, en="Text", zh="正文"),
        Column("url", "text", en="URL", zh="链接"),
        *_common(),
    ),
    rules=(
        _not_null("news", ("news_id", "source", "published_at", "text", "version", "updated_at")),
        Rule("news_text_complete", "regex", ("text",), params={"pattern": SENTENCE_END, "unless_len": 300},
             en="The text ends at a sentence end (or at the source's 300-character cap)", zh="正文完整"),
    ),
)

ADVERT_LEADS = Feed(
    name="advert_leads", key="lead_id", en="Financial-advert leads", zh="非法集资广告线索",
    columns=(
        Column("lead_id", "text", False, en="Lead id", zh="线索编号"),
        Column("advertiser", "text", False, en="Advertiser as shown", zh="广告主"),
        Column("platform", "text", en="Platform", zh="平台"),
        Column("text", "text", False, en="Advert text", zh="广告内容"),
        Column("captured_at", "timestamptz", False, en="Captured", zh="采集时间"),
        Column("source_url", "text", en="Source URL", zh="来源链接"),
        *_common(),
    ),
    rules=(
        _not_null("advert_leads", ("lead_id", "advertiser", "text", "captured_at", "version", "updated_at")),
        Rule("advert_text_complete", "regex", ("text",), params={"pattern": SENTENCE_END + r"|[!！]$|起$|底$"},
             en="The advert text ends at a sentence end", zh="广告内容完整"),
    ),
)

FEEDS: dict[str, Feed] = {f.name: f for f in (REGISTRY, REGISTRY_CHANGES, COURT_ENFORCEMENT, PENALTIES,
                                              DEVELOPER_FINANCIALS, NEWS, ADVERT_LEADS)}
#: Load order: the registry first (news and adverts link to it).
FEED_ORDER: tuple[str, ...] = tuple(FEEDS)
