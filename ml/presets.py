"""The two early-warning panels the warehouse serves (dbt models in ``models/marts/features/``).

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

PRESETS = {"institution": INSTITUTION}
