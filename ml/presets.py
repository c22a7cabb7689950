"""The three early-warning panels the warehouse serves (dbt models in ``models/marts/features/``).

``python -m ml train --data institution`` is shorthand for the institution panel with its columns;
any other panel is named column by column on the command line (see ``ml.cli``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ml.feature_docs import feature_texts
from ml.spec import PanelSpec


@dataclass(frozen=True)
class Preset:
    model_name: str
    entity_type: str  # ml.risk_scores.entity_type
    source: str  # schema.table
    spec: PanelSpec
    texts: dict[str, tuple[str, str]]  # feature (and the baseline) -> (zh, en), for reasons in words
    units: dict[str, str] = field(default_factory=dict)  # feature -> unit for reasons: % (a fraction), pp, days...


_INST_TEXTS = feature_texts((
    "total_car", "tier1_car", "cet1_car", "npl_ratio", "provision_coverage", "loan_provision_ratio",
    "liquidity_ratio", "lcr", "loan_to_deposit", "largest_single_customer_ratio", "top10_customer_ratio",
    "real_estate_loan_share", "roa", "solvency_ratio", "breach_count", "total_car_chg_1q", "total_car_chg_2q",
    "npl_ratio_chg_1q", "npl_ratio_chg_2q", "liquidity_ratio_chg_1q", "loan_to_deposit_chg_1q", "roa_chg_1q",
    "solvency_ratio_chg_1q", "breach_count_4q", "prior_rating", "interventions_4q", "penalty_cases_4q",
    "rejected_batches_q",
))

INSTITUTION = Preset(
    model_name="institution_risk",
    entity_type="institution",
    source="marts_features.institution_quarter_training",
    spec=PanelSpec(
        entity="institution_code", period="period", label="label_high_risk_4q",
        features=tuple(_INST_TEXTS), baseline="breach_count", extra=("car_below_minimum",)),
    texts=_INST_TEXTS,
    units={**{f: "%" for f in _INST_TEXTS if not f.endswith(("_chg_1q", "_chg_2q", "count", "_4q", "_q", "rating"))},
           **{f: "pp" for f in _INST_TEXTS if f.endswith(("_chg_1q", "_chg_2q"))}},
)

_FIRM_TEXTS = feature_texts((
    "firm_age_years", "registered_capital_log", "fundraising_prone_industry", "customer_of_institutions",
    "lender_count", "loan_count", "loan_balance_log", "overdue_balance_share", "max_overdue_days",
    "npl_balance_share", "special_mention_share", "overdue_months_6m", "loan_balance_chg_3m",
    "lender_count_chg_6m", "guarantees_given", "guarantees_given_amount_log", "guaranteed_loans_overdue",
    "guarantees_received", "flow_accounts", "flow_payers", "flow_individual_share", "flow_elderly_share",
    "flow_round_share", "flow_keyword_share", "flow_inflow_amount_log", "flow_repaid_investors",
    "flow_concentrated_outflow_share", "flow_alert_accounts", "flow_alert_months_3m", "court_cases_12m",
    "court_cases_3m", "court_amount_12m_log", "registry_changes_6m", "adverts_6m", "illegal_promo_adverts_6m",
    "news_mentions_6m", "negative_news_6m", "red_flag_count",
))

FIRM = Preset(
    model_name="firm_risk",
    entity_type="firm",
    source="marts_features.firm_month_training",
    spec=PanelSpec(
        entity="firm_uscc", period="period", label="label_case_6m",
        features=tuple(_FIRM_TEXTS), baseline="red_flag_count", extra=("confirmed_flow_pattern",)),
    texts=_FIRM_TEXTS,
    units={**{f: "%" for f in _FIRM_TEXTS if f.endswith("_share")},
           **{f: "log" for f in _FIRM_TEXTS if f.endswith("_log")},
           "max_overdue_days": "days", "firm_age_years": "years"},
)

_FLOW_SIGNALS = ("payers", "new_payers", "individual_share", "elderly_share", "keyword_share", "round_share",
                 "inflow_dispersion", "outflow_concentration", "pass_through", "periodic_repaid_payers",
                 "periodic_payees", "payout_keyword_share", "elsewhere_share", "upstream_payers", "large_payers",
                 "large_individual_payers")  # account-month flow signals (int_flows__account_windows)
_ACCOUNT_TEXTS = feature_texts((
    "score_collection", "score_periodic_payout", "score_fan_in", "score_pass_through",
    *(f"pr_{k}" for k in _FLOW_SIGNALS),
))

#: Account-months of the flow models (#12): label from the regulator's fundraising cases against the
#: holder in the next six months, or a supervisor's confirmed flow alert (marts_features.account_month_training).
ACCOUNT = Preset(
    model_name="account_risk",
    entity_type="account",
    source="marts_features.account_month_training",
    spec=PanelSpec(
        entity="account_key", period="period", label="label_case_6m",
        features=tuple(_ACCOUNT_TEXTS), baseline="flow_score"),
    texts={**_ACCOUNT_TEXTS, **feature_texts(("flow_score",))},  # the rule too: its reasons if it scores (ml.dag_tasks)
    units={f: "%" for f in _ACCOUNT_TEXTS if f.startswith("pr_")},
)

PRESETS = {"institution": INSTITUTION, "firm": FIRM, "account": ACCOUNT}
