"""The three early-warning panels the warehouse serves (dbt models in ``models/marts/features/``).

``python -m ml train --data institution`` is shorthand for the institution panel with its columns;
any other panel is named column by column on the command line (see ``ml.cli``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ml.panel import PanelSpec


@dataclass(frozen=True)
class Preset:
    model_name: str
    entity_type: str  # ml.risk_scores.entity_type
    source: str  # schema.table
    spec: PanelSpec
    texts: dict[str, tuple[str, str]]  # feature -> (zh, en), for reasons in words


_INST_TEXTS = {
    "total_car": ("资本充足率", "capital adequacy ratio"),
    "tier1_car": ("一级资本充足率", "tier 1 capital ratio"),
    "cet1_car": ("核心一级资本充足率", "CET1 capital ratio"),
    "npl_ratio": ("不良贷款率", "non-performing loan ratio"),
    "provision_coverage": ("拨备覆盖率", "provision coverage"),
    "loan_provision_ratio": ("贷款拨备率", "loan provision ratio"),
    "liquidity_ratio": ("流动性比例", "liquidity ratio"),
    "lcr": ("流动性覆盖率", "liquidity coverage ratio"),
    "loan_to_deposit": ("存贷比", "loan-to-deposit ratio"),
    "largest_single_customer_ratio": ("单一客户贷款集中度", "largest single customer ratio"),
    "top10_customer_ratio": ("前十大客户贷款集中度", "top-10 customers ratio"),
    "real_estate_loan_share": ("房地产贷款占比", "real-estate loan share"),
    "roa": ("资产利润率", "return on assets"),
    "solvency_ratio": ("偿付能力充足率", "solvency ratio"),
    "breach_count": ("本季监管指标不达标项数", "regulatory thresholds breached this quarter"),
    "total_car_chg_1q": ("资本充足率环比变化", "change in CAR over one quarter"),
    "total_car_chg_2q": ("资本充足率两季变化", "change in CAR over two quarters"),
    "npl_ratio_chg_1q": ("不良贷款率环比变化", "change in NPL ratio over one quarter"),
    "npl_ratio_chg_2q": ("不良贷款率两季变化", "change in NPL ratio over two quarters"),
    "liquidity_ratio_chg_1q": ("流动性比例环比变化", "change in liquidity ratio over one quarter"),
    "loan_to_deposit_chg_1q": ("存贷比环比变化", "change in loan-to-deposit ratio over one quarter"),
    "roa_chg_1q": ("资产利润率环比变化", "change in ROA over one quarter"),
    "solvency_ratio_chg_1q": ("偿付能力充足率环比变化", "change in solvency ratio over one quarter"),
    "breach_count_4q": ("近四季不达标项数", "threshold breaches over the last four quarters"),
    "prior_rating": ("上季监管评级", "previous quarter's supervisory rating"),
    "interventions_4q": ("近四季监管措施次数", "supervisory interventions over the last four quarters"),
    "penalty_cases_4q": ("近四季处罚及违规案件数", "penalty and misconduct cases over the last four quarters"),
    "rejected_batches_q": ("本季报送数据被拒批次数", "submitted batches rejected or quarantined this quarter"),
}

INSTITUTION = Preset(
    model_name="institution_risk",
    entity_type="institution",
    source="marts_features.institution_quarter_training",
    spec=PanelSpec(
        entity="institution_code", period="period", label="label_high_risk_4q",
        features=tuple(_INST_TEXTS), baseline="breach_count", extra=("car_below_minimum",)),
    texts=_INST_TEXTS,
)

_FIRM_TEXTS = {
    "firm_age_years": ("成立年限", "years since the firm was founded"),
    "registered_capital_log": ("注册资本（对数）", "registered capital (log)"),
    "fundraising_prone_industry": ("属非法集资高发行业", "industry where illegal fundraising concentrates"),
    "customer_of_institutions": ("开户机构数", "institutions the firm is a customer of"),
    "lender_count": ("贷款机构数", "number of lenders"),
    "loan_count": ("贷款笔数", "number of loans"),
    "loan_balance_log": ("贷款余额（对数）", "loan balance (log)"),
    "overdue_balance_share": ("逾期贷款余额占比", "share of the loan balance overdue"),
    "max_overdue_days": ("最长逾期天数", "longest days overdue"),
    "npl_balance_share": ("不良贷款余额占比", "share of the loan balance non-performing"),
    "special_mention_share": ("关注类贷款余额占比", "share of the loan balance special mention"),
    "overdue_months_6m": ("近六个月逾期月数", "months with arrears in the last six"),
    "loan_balance_chg_3m": ("贷款余额三个月变化", "change in loan balance over three months"),
    "lender_count_chg_6m": ("贷款机构数六个月变化", "change in the number of lenders over six months"),
    "guarantees_given": ("对外担保笔数", "guarantees given for others' loans"),
    "guarantees_given_amount_log": ("对外担保金额（对数）", "amount guaranteed for others (log)"),
    "guaranteed_loans_overdue": ("所担保贷款逾期笔数", "guaranteed loans overdue"),
    "guarantees_received": ("获得担保笔数", "guarantees securing its own loans"),
    "flow_accounts": ("有入账的账户数", "accounts receiving inflows"),
    "flow_payers": ("付款对手数", "distinct paying counterparties"),
    "flow_individual_share": ("个人付款人占比", "share of payers who are individuals"),
    "flow_elderly_share": ("老年付款人占比", "share of payers aged 60 or more"),
    "flow_round_share": ("整数金额入账占比", "share of round-amount inflows"),
    "flow_keyword_share": ("投资类用途入账占比", "share of inflows with an investment purpose"),
    "flow_inflow_amount_log": ("入账金额（对数）", "inflow amount (log)"),
    "flow_repaid_investors": ("定期收到返款的付款人数", "payers receiving regular payouts"),
    "flow_concentrated_outflow_share": ("资金集中流出占比", "share of inflows moved on to a few accounts"),
    "flow_alert_accounts": ("触发资金流预警的账户数", "accounts with an illegal-fundraising flow alert"),
    "flow_alert_months_3m": ("近三个月资金流预警月数", "months with a flow alert in the last three"),
    "court_cases_12m": ("近一年法院执行案件数", "court enforcement cases in the last year"),
    "court_cases_3m": ("近三个月法院执行案件数", "court enforcement cases in the last three months"),
    "court_amount_12m_log": ("近一年执行标的（对数）", "amount under enforcement in the last year (log)"),
    "registry_changes_6m": ("近六个月工商变更次数", "registry changes in the last six months"),
    "adverts_6m": ("近六个月广告线索数", "advert leads in the last six months"),
    "illegal_promo_adverts_6m": ("近六个月非法集资宣传广告数", "illegal-fundraising adverts in the last six months"),
    "news_mentions_6m": ("近六个月新闻提及数", "news mentions in the last six months"),
    "negative_news_6m": ("近六个月负面新闻数", "negative news in the last six months"),
    "red_flag_count": ("当月红旗数", "red flags raised this month"),
}

FIRM = Preset(
    model_name="firm_risk",
    entity_type="firm",
    source="marts_features.firm_month_training",
    spec=PanelSpec(
        entity="firm_uscc", period="period", label="label_case_6m",
        features=tuple(_FIRM_TEXTS), baseline="red_flag_count", extra=("confirmed_flow_pattern",)),
    texts=_FIRM_TEXTS,
)

_FLOW_SIGNALS = {  # account-month flow signals (int_flows__account_windows): zh, en
    "payers": ("付款对手数", "distinct payers"),
    "new_payers": ("新付款对手数", "new payers"),
    "individual_share": ("个人付款人占比", "share of payers who are individuals"),
    "elderly_share": ("老年付款人占比", "share of payers aged 60 or more"),
    "keyword_share": ("投资类用途入账占比", "share of inflows with an investment purpose"),
    "round_share": ("整数金额入账占比", "share of round-amount inflows"),
    "inflow_dispersion": ("入账分散度", "inflow dispersion (1 - HHI by count)"),
    "outflow_concentration": ("出账集中度", "outflow concentration (HHI by amount)"),
    "pass_through": ("快进快出比例", "pass-through (inflow that left the same month)"),
    "periodic_repaid_payers": ("定期等额返款的付款人数", "payers receiving periodic equal payouts"),
    "periodic_payees": ("定期等额付款对象数", "payees of periodic equal payouts"),
    "payout_keyword_share": ("返息类用途出账占比", "share of outflows with a payout purpose"),
    "elsewhere_share": ("他行付款人占比", "share of payers at other institutions"),
    "upstream_payers": ("二跳付款人数", "2-hop fan-in (payers of payers)"),
    "large_payers": ("大额付款人数", "payers with a large inflow for the month"),
    "large_individual_payers": ("大额个人付款人数", "individual payers with a large inflow for the month"),
}
_ACCOUNT_TEXTS = {
    "score_collection": ("分散转入集中转出类型得分", "collection typology score"),
    "score_periodic_payout": ("周期性等额转出类型得分", "periodic payouts typology score"),
    "score_fan_in": ("分散转入类型得分", "fan-in collector typology score"),
    "score_pass_through": ("过渡账户类型得分", "pass-through mule typology score"),
    **{f"pr_{k}": (f"{zh}（同类分位）", f"{en}, percentile among peers") for k, (zh, en) in _FLOW_SIGNALS.items()},
}

#: Account-months of the flow models (#12): label from the regulator's fundraising cases against the
#: holder in the next six months, or a supervisor's confirmed flow alert (marts_features.account_month_training).
ACCOUNT = Preset(
    model_name="account_risk",
    entity_type="account",
    source="marts_features.account_month_training",
    spec=PanelSpec(
        entity="account_key", period="period", label="label_case_6m",
        features=tuple(_ACCOUNT_TEXTS), baseline="flow_score"),
    texts=_ACCOUNT_TEXTS,
)

PRESETS = {"institution": INSTITUTION, "firm": FIRM, "account": ACCOUNT}
