"""Prudential reports agree with the loan detail; health drives the indicators; the regulator's records
lag the signals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulator import build_world
from simulator.banking import LENDER_TYPES

KEY = ["institution_code", "report_period"]


@pytest.fixture(scope="module")
def world():
    return build_world("tiny", seed=7)


@pytest.fixture(scope="module")
def quarter_loans(world) -> pd.DataFrame:
    loan = world.frames["loan"]
    qe = np.array(world.periods, dtype="datetime64[D]")
    return loan[np.isin(loan["report_period"].to_numpy().astype("datetime64[D]"), qe)]


def _merge(report: pd.DataFrame, detail: pd.Series) -> pd.DataFrame:
    d = detail.rename("detail").reset_index()
    m = report.merge(d, on=KEY, how="left")
    m["detail"] = m["detail"].fillna(0).astype(np.int64)
    return m


def test_npl_equals_loan_detail(world, quarter_loans):
    npl = quarter_loans[quarter_loans["five_category"].isin(["次级", "可疑", "损失"])].groupby(KEY)["balance"].sum()
    m = _merge(world.frames["asset_quality"], npl)
    assert len(m) and (m["npl_balance"] == m["detail"]).all()
    assert (m["npl_balance"] > 0).any()
    aq = world.frames["asset_quality"]
    cats = ["loans_normal", "loans_special_mention", "loans_substandard", "loans_doubtful", "loans_loss"]
    assert (aq[cats].sum(axis=1) == aq["total_loans"]).all()
    assert (aq[["loans_substandard", "loans_doubtful", "loans_loss"]].sum(axis=1) == aq["npl_balance"]).all()


@pytest.mark.parametrize("report", ["asset_quality", "concentration", "deposits_loans"])
def test_total_loans_equal_loan_detail(world, quarter_loans, report):
    m = _merge(world.frames[report], quarter_loans.groupby(KEY)["balance"].sum())
    assert len(m) and (m["total_loans"] == m["detail"]).all()


def test_largest_and_top_ten_exposures_equal_loan_detail(world, quarter_loans):
    per_cust = quarter_loans.groupby(KEY + ["customer_id"])["balance"].sum()
    largest = per_cust.groupby(level=[0, 1]).max()
    top10 = per_cust.groupby(level=[0, 1]).apply(lambda s: s.nlargest(10).sum())
    conc = world.frames["concentration"]
    m = _merge(conc, largest)
    assert (m["largest_customer_exposure"] == m["detail"]).all()
    m = _merge(conc, top10)
    assert (m["top10_customer_exposure"] == m["detail"]).all()
    re_dev = quarter_loans[quarter_loans["purpose"] == "房地产开发"].groupby(KEY)["balance"].sum()
    assert (_merge(conc, re_dev).eval("real_estate_development_loans == detail")).all()


def test_net_capital_is_the_capital_reports_total_capital(world):
    m = world.frames["concentration"].merge(world.frames["capital_report"], on=KEY)
    assert len(m) == len(world.frames["concentration"])
    assert (m["net_capital"] == m["total_capital"]).all()


def test_report_families_follow_institution_type(world):
    inst = world.universe.institutions.set_index("institution_code")["institution_type"]
    for name in ("asset_quality", "concentration", "capital_report"):
        assert set(inst[world.frames[name]["institution_code"].unique()]) <= set(LENDER_TYPES)
    assert set(inst[world.frames["solvency"]["institution_code"].unique()]) == {"insurer"}
    assert set(world.frames["profitability"]["institution_code"]) == set(inst.index)
    banks = {"large_state_bank", "joint_stock_bank", "city_commercial_bank", "rural_commercial_bank", "village_bank"}
    assert set(inst[world.frames["liquidity"]["institution_code"].unique()]) == banks


@pytest.fixture(scope="module")
def small():
    return build_world("small", seed=7)


def test_deteriorating_lenders_show_it_in_several_indicators(small):
    world = small
    h = world.health
    planted = set(np.array(h.codes)[h.deteriorating])
    aq = world.frames["asset_quality"].copy()
    aq["npl_ratio"] = aq["npl_balance"] / aq["total_loans"].clip(lower=1)
    last = aq["report_period"] == aq["report_period"].max()
    liq = world.frames["liquidity"]
    lcr = (liq["hqla"] / liq["net_cash_outflows_30d"]).groupby(liq["institution_code"]).last()
    assert planted
    is_p = aq["institution_code"].isin(planted)
    assert aq.loc[last & is_p, "npl_ratio"].mean() > aq.loc[last & ~is_p, "npl_ratio"].mean()
    banks_p = [c for c in planted if c in lcr.index]
    if banks_p:
        assert lcr[banks_p].mean() < lcr.drop(banks_p).mean()


def test_ratings_lag_health_and_are_noisy(small):
    w = small
    h = w.health
    r = w.frames["supervisory_rating"].copy()
    r = r[r["rating"] != "S"]
    r["rating"] = r["rating"].astype(int)
    q = {p: i for i, p in enumerate(np.array(w.periods, dtype="datetime64[D]"))}
    rows = h.rows_of(r["institution_code"])
    qi = np.array([q[np.datetime64(d, "D")] for d in r["report_period"]])
    z_prev = h.z[rows, np.maximum(qi - 1, 0)]
    z_next = h.z[rows, np.minimum(qi + 1, len(w.periods) - 1)]
    corr_prev = np.corrcoef(-z_prev, r["rating"])[0, 1]
    corr_next = np.corrcoef(-z_next, r["rating"])[0, 1]
    assert 0.3 < corr_prev < 0.95  # informative, not a giveaway
    assert corr_prev > corr_next - 0.05  # ratings follow health, they do not lead it
    # some planted institutions are never rated 5+, and some healthy ones are
    bad = set(r.loc[r["rating"] >= 5, "institution_code"])
    planted = set(np.array(h.codes)[h.deteriorating])
    assert bad - planted
    assert r["rated_at"].gt(r["report_period"]).all()
