"""Planted schemes, hard negatives and guarantee circles are in the transactions and loans, in the
expected numbers, and the population has a realistic share of elderly people."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from simulator import build_world
from simulator.entities import ages_at
from simulator.presets import get_preset


@pytest.fixture(scope="module")
def world():
    return build_world("small", seed=7)


@pytest.fixture(scope="module")
def txn(world) -> pd.DataFrame:
    return world.frames["transaction"]


def test_transaction_volume_is_near_the_target(world, txn):
    target = get_preset("small").n_transactions
    assert 0.85 * target <= len(txn) <= 1.15 * target


def test_elderly_share(world):
    age = ages_at(world.persons["birth_date"], world.months[-1])
    assert (age >= 60).mean() >= 0.12
    assert age.min() >= 18 and age.max() <= 95


def test_schemes_present_in_expected_number(world):
    s = world.schemes
    assert len(s) == get_preset("small").n_schemes
    assert s["firm_uscc"].is_unique
    assert (s["n_investors"] >= 20).all()
    assert (s["collapse_month"] >= 0).sum() >= len(s) // 2  # most collapse inside the window


def test_scheme_inflows_look_like_fundraising(world, txn):
    pat, acc = world.patterns, world.banking.accounts
    for s in world.schemes.itertuples(index=False):
        coll = set(acc["account_no"].to_numpy()[pat.scheme_accounts.loc[pat.scheme_accounts["scheme_id"] ==
                                                                          s.scheme_id, "acct"]])
        rows = txn[txn["account_no"].isin(coll)]
        inflow = rows[rows["direction"] == "收"]
        payers = inflow["counterparty_account"].nunique()
        assert payers >= 10, s.scheme_id
        assert (inflow["amount"] % s.unit == 0).all(), s.scheme_id  # multiples of the unit (fen)
        purposes = set(inflow["purpose"].dropna())
        assert purposes & {"投资款", "会员费", "认购款", "理财"}
        out = rows[rows["direction"] == "付"]
        payout = out[out["purpose"] == s.payout_purpose]
        assert len(payout) > 0
        # equal monthly payouts: one amount per investor account over the months before any top-up
        per_investor = payout.groupby("counterparty_account")["amount"].nunique()
        assert (per_investor <= 2).all()
        # concentrated outflows to a few controller accounts
        inv = pat.investors[pat.investors["scheme_id"] == s.scheme_id]
        big = out[~out["counterparty_account"].isin(set(acc["account_no"].to_numpy()[inv["acct"]]))]
        assert 1 <= big["counterparty_account"].nunique() <= 4
        assert big["amount"].sum() > 0.3 * inflow["amount"].sum()
        if s.collapse_month >= 0:
            after = pd.Timestamp(world.months[s.collapse_month])
            assert not (inflow["report_period"] > after).any()


def test_scheme_investors_are_mostly_elderly(world):
    inv = world.patterns.investors
    assert inv.groupby("scheme_id")["elderly"].mean().mean() > 0.45


def test_hard_negatives_present_in_expected_numbers(world, txn):
    from simulator.ground_truth import hard_negatives

    hn = hard_negatives(world)
    counts = hn["kind"].value_counts()
    p = get_preset("small")
    assert counts["payroll"] == p.n_payroll
    assert counts["merchant"] == p.n_merchants
    assert counts["loan_repayment"] > 1000 and counts["pension"] > 1000
    active = set(txn["account_no"])
    for kind in ("payroll", "merchant", "loan_repayment", "pension"):
        assert hn.loc[hn["kind"] == kind, "account_no"].isin(active).mean() > 0.9, kind
    scheme_acc = set(world.banking.accounts["account_no"].to_numpy()[world.patterns.scheme_accounts["acct"]])
    assert not scheme_acc & set(hn["account_no"])


def test_payroll_pays_equal_amounts_on_a_fixed_day(world, txn):
    acc = world.banking.accounts["account_no"].to_numpy()
    firm_acc = set(acc[world.patterns.payroll["acct"]])
    pay = txn[txn["account_no"].isin(firm_acc) & txn["purpose"].isin(["工资", "代发工资"])]
    assert len(pay) > 1000
    year = pay["txn_time"].dt.year
    per = pay.groupby([pay["counterparty_account"], year])["amount"].nunique()
    assert (per == 1).mean() > 0.95
    assert (pay.groupby("account_no")["txn_time"].apply(lambda t: t.dt.day.nunique()) == 1).all()


def test_merchants_receive_many_small_irregular_amounts(world, txn):
    acc = world.banking.accounts["account_no"].to_numpy()
    m_acc = set(acc[world.patterns.merchants["acct"]])
    inflow = txn[txn["account_no"].isin(m_acc) & (txn["direction"] == "收")]
    assert inflow["counterparty_account"].nunique() > 1000
    assert inflow["amount"].median() < 500_00
    assert (inflow["amount"] % 100_00 != 0).mean() > 0.9  # not round sums


def test_pensions_and_round_deposits_of_the_elderly(txn):
    pension = txn[txn["purpose"] == "养老金"]
    assert len(pension) > 10_000
    assert (pension["direction"] == "收").all()
    dep = txn[txn["purpose"].isin(["定期存款", "购买理财产品"])]
    assert len(dep) > 100 and (dep["amount"] % 10_000_00 == 0).all()


def test_loan_repayments_are_equal_monthly_instalments(txn):
    rep = txn[txn["purpose"] == "贷款还款"]
    assert len(rep) > 10_000
    assert (rep.groupby("account_no")["amount"].nunique() <= 2).mean() > 0.95


def test_guarantee_circles_present(world):
    g = world.frames["guarantee"]
    g = g[g["guarantor_type"] == "企业"][["guarantor_uscc", "borrower_uscc", "institution_code"]].drop_duplicates()
    firms = pd.Index(pd.unique(pd.concat([g["guarantor_uscc"], g["borrower_uscc"]])))
    a, b = firms.get_indexer(g["guarantor_uscc"]), firms.get_indexer(g["borrower_uscc"])
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(firms), len(firms)))
    _, label = connected_components(graph, directed=True, connection="strong")
    sizes = np.bincount(label)
    cycles = (sizes >= 2).sum()
    assert cycles >= get_preset("small").n_guarantee_circles
    # the planted circles span more than one bank
    for c in world.banking.circles:
        lenders = set(world.banking.loans["inst_idx"].to_numpy()[c["loan_rows"]])
        assert len(lenders) >= min(2, len(c["members"]))


def test_guarantee_chains_present(world):
    g = world.frames["guarantee"]
    edges = set(zip(g["guarantor_uscc"].dropna(), g.loc[g["guarantor_uscc"].notna(), "borrower_uscc"], strict=True))
    uscc = world.firms["uscc"].to_numpy()
    assert world.banking.chains
    for c in world.banking.chains:
        m = uscc[c["members"]]
        assert all((m[i], m[i + 1]) in edges for i in range(len(m) - 1))


def test_loans_have_every_category_and_purpose(world):
    loan = world.frames["loan"]
    assert set(loan["five_category"]) == {"正常", "关注", "次级", "可疑", "损失"}
    assert {"房地产开发", "个人住房按揭"} <= set(loan["purpose"])
    assert (loan.loc[loan["five_category"] == "正常", "overdue_days"] == 0).all()
    npl = loan["five_category"].isin(["次级", "可疑", "损失"])
    assert (loan.loc[npl, "overdue_days"] > 90).all()
