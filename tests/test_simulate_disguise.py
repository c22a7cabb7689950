"""Disguised schemes (simulator.disguise, #12): each trick changes what the scheme's transfers look like,
and disguise draws never touch the undisguised world's streams."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from simulator import build_world
from simulator.disguise import TRICKS
from simulator.presets import get_preset

INVESTMENT_WORDS = {"投资款", "会员费", "认购款", "理财", "返息", "利息", "收益", "分红"}


@pytest.fixture(scope="module")
def plain():
    return build_world("tiny", seed=7)


@pytest.fixture(scope="module")
def disguised():
    every = tuple((t, 1.0) for t in TRICKS if t != "busy_account")
    return build_world(dataclasses.replace(get_preset("tiny"), disguise_share=1.0, disguise_tricks=every), seed=7)


def _scheme_rows(world):
    acc = world.banking.accounts["account_no"].to_numpy()
    coll = set(acc[world.patterns.scheme_accounts["acct"].to_numpy()])
    inv = set(acc[world.patterns.investors["acct"].to_numpy()])
    t = world.frames["transaction"]
    return t, coll, inv, acc


def test_default_preset_draws_nothing_for_disguises(plain):
    assert "disguised" not in plain.schemes
    assert get_preset("tiny").disguise_share == 0 and get_preset("small").disguise_share == 0


def test_disguised_inflows_are_neutral_and_not_round(plain, disguised):
    t, coll, _, _ = _scheme_rows(disguised)
    inflow = t[t["account_no"].isin(coll) & (t["direction"] == "收")]
    assert len(inflow) > 0
    assert not set(inflow["purpose"].dropna()) & INVESTMENT_WORDS
    assert (inflow["amount"] % 100 != 0).all()  # not even whole yuan
    t0, coll0, _, _ = _scheme_rows(plain)
    inflow0 = t0[t0["account_no"].isin(coll0) & (t0["direction"] == "收")]
    assert (inflow0["amount"] % 1_000_000 == 0).all()  # the undisguised scheme pays in whole 10,000 yuan


def test_fan_in_only_pays_no_investor(disguised):
    t, coll, inv, _ = _scheme_rows(disguised)
    payouts = t[t["account_no"].isin(coll) & (t["direction"] == "付") & t["counterparty_account"].isin(inv)]
    assert len(payouts) == 0


def test_mules_forward_to_the_controllers(disguised):
    t, coll, _, acc = _scheme_rows(disguised)
    mules = {acc[m] for ms in disguised.schemes["mules"] for m in ms}
    ctrl = set(acc[disguised.patterns.controllers["acct"].to_numpy()])
    assert mules
    out = t[t["account_no"].isin(coll) & (t["direction"] == "付")]
    assert set(out["counterparty_account"]) <= mules  # nothing goes to a controller directly
    forwarded = t[t["account_no"].isin(mules) & (t["direction"] == "付") & t["counterparty_account"].isin(ctrl)]
    assert forwarded["amount"].sum() > 0.9 * out["amount"].sum()


def test_busy_account_carries_ordinary_traffic():
    preset = dataclasses.replace(get_preset("tiny"), disguise_share=1.0, disguise_tricks=(("busy_account", 1.0),))
    world = build_world(preset, seed=7)
    t, coll, inv, _ = _scheme_rows(world)
    inflow = t[t["account_no"].isin(coll) & (t["direction"] == "收")]
    others = inflow[~inflow["counterparty_account"].isin(inv)]
    assert others["counterparty_account"].nunique() > inflow["counterparty_account"].isin(inv).sum() / 4
    assert np.isin(world.schemes["busy_account"].to_numpy(), [True]).all()
