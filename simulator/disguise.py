"""Disguised fundraising schemes (#12): the tricks real schemes use to stay under flow rules.

A share of the schemes (``Preset.disguise_share``) is disguised; each disguised scheme uses every trick
of ``Preset.disguise_tricks`` with that trick's probability (``(("neutral_purpose", 1.0), ...)``), so
mix and strength are knobs. Everything here draws from streams of its own (``disguise`` and
``disguise/<month>``), never from the streams the undisguised world uses: with ``disguise_share = 0``
(every preset's default) nothing is planned and every landing file stays byte-identical.

Tricks:

* ``neutral_purpose``: inflows and payouts carry 转账/往来款/借款/blank instead of 投资款 and 返息;
* ``odd_amounts``: principals, top-ups, payouts and transfers to the controllers are no longer round
  (each off by up to ±7%, to the fen);
* ``fan_in_only``: no payouts to the investors, the scheme only collects (and moves money on);
* ``slow_payouts``: payouts every two or three months, each within ±3% of the last, on irregular days;
* ``busy_account``: the collection accounts also carry heavy ordinary business traffic, so the
  scheme's money is a small share of a busy account's flow;
* ``mule_chain``: money for the controllers passes through one to three personal mule accounts, each
  forwarding most of it within days.

Fund splitting across banks is what every scheme already does (one to three collection accounts at one
or two banks, :func:`simulator.patterns.scheme_extra_accounts`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.rng import stream

TRICKS = ("neutral_purpose", "odd_amounts", "fan_in_only", "slow_payouts", "busy_account", "mule_chain")
NEUTRAL_INFLOW = ("转账", "往来款", "借款", None)
NEUTRAL_PAYOUT = ("转账", "还款", None)


def plan_disguise(seed: int, schemes: pd.DataFrame, accounts: pd.DataFrame, taken: np.ndarray,
                  share: float, tricks: tuple[tuple[str, float], ...]) -> pd.DataFrame:
    """Per scheme: ``disguised`` and one boolean column per trick, ``payout_every`` (months) and
    ``mules`` (a list of account rows). Adds the columns to ``schemes`` in place and returns it.
    ``taken``: account rows already playing a part (collection, controllers, investors)."""
    unknown = {t for t, _ in tricks} - set(TRICKS)
    if unknown:
        raise ValueError(f"unknown disguise tricks {sorted(unknown)}; known: {list(TRICKS)}")
    rng = stream(seed, "disguise")
    n = len(schemes)
    disguised = rng.random(n) < share
    schemes["disguised"] = disguised
    prob = dict(tricks)
    for t in TRICKS:
        schemes[t] = disguised & (rng.random(n) < prob.get(t, 0.0))
    schemes["payout_every"] = np.where(schemes["slow_payouts"], rng.integers(2, 4, size=n), 1)
    pool = np.flatnonzero((accounts["holder_type"].to_numpy() == 0) & (accounts["open_month"].to_numpy() <= 0))
    pool = np.setdiff1d(pool, taken)
    mules = []
    for has in schemes["mule_chain"].to_numpy():
        k = int(rng.integers(1, 4)) if has else 0
        pick = rng.choice(pool, size=k, replace=False) if k else np.array([], dtype=np.int64)
        pool = np.setdiff1d(pool, pick)
        mules.append([int(a) for a in pick])
    schemes["mules"] = mules
    return schemes


def busy_weight(weight: np.ndarray, accounts: pd.DataFrame, schemes: pd.DataFrame) -> np.ndarray:
    """Background activity weight of ``busy_account`` collection accounts: as busy as the busiest 1% of
    accounts (their other weights untouched)."""
    if "busy_account" not in schemes:
        return weight
    busy = np.flatnonzero(schemes["busy_account"].to_numpy())
    rows = np.flatnonzero(accounts["scheme"].isin(busy).to_numpy()) if len(busy) else []
    if len(rows):
        weight = weight.copy()
        weight[rows] = np.quantile(weight[weight > 0], 0.99) * 3
    return weight


def month_rng(seed: int, m: int) -> np.random.Generator:
    return stream(seed, "disguise", str(m))


def odd(rng: np.random.Generator, amt: np.ndarray) -> np.ndarray:
    """Amounts (fen) off by up to ±7%, to the fen, never round."""
    out = np.round(amt * rng.uniform(0.93, 1.07, size=len(amt))).astype(np.int64)
    return out + (out % 100 == 0)


def neutral(rng: np.random.Generator, k: int, texts: tuple, pu: dict[str, int], blank: int) -> np.ndarray:
    codes = np.array([pu[t] if t else blank for t in texts])
    return codes[rng.integers(len(codes), size=k)]


def payouts(rng: np.random.Generator, s, m: int, payees: pd.DataFrame, amt: np.ndarray, day: np.ndarray,
            purpose: np.ndarray, days_in_month: int, pu: dict[str, int], blank: int):
    """A disguised scheme's payouts of month ``m``: (amounts, days, purposes, which are paid)."""
    k = len(amt)
    keep = np.full(k, not s.fan_in_only)
    if s.odd_amounts:  # non-round, but each investor's own amount (a scheme keeps its promise)
        factor = 1 + ((payees["person_idx"].to_numpy() * 7919) % 141 - 70) / 1000
        amt = np.round(amt * factor).astype(np.int64) + 1
    if s.slow_payouts:
        keep &= (m - payees["join_month"].to_numpy()) % int(s.payout_every) == 0
        amt = np.round(amt * rng.uniform(0.97, 1.03, size=k)).astype(np.int64)
        day = np.clip(day + rng.integers(-5, 6, size=k), 1, days_in_month)
    if s.neutral_purpose:
        purpose = neutral(rng, k, NEUTRAL_PAYOUT, pu, blank)
    return amt, day, purpose, keep
