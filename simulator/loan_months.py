"""The monthly life of loans: per loan and month-end while outstanding, the balance (amortising),
overdue days after a default, the five-category classification they drive (some performing loans on
the watch list), and the NPL a deteriorating lender hides as 关注 after its onset."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from simulator.banking import month_index
from simulator.health import HealthPanel


def loan_snapshots(loans: pd.DataFrame, months: list[date], health: HealthPanel,
                   understate_rng: np.random.Generator, n_base: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per loan and month-end while outstanding: balance (fen), overdue_days, five_category (index).
    Loans after the first ``n_base`` (renewals after the base window) take their under-classification
    draw from a hash of their row, so the base loans' draws do not change.

    Returns (snapshots with columns loan row ``li``, month ``mi``, balance, overdue_days, category,
    understated; the under-classified loans). :func:`understate_draws` and :func:`month_snapshots`
    give the same rows a month at a time (streaming)."""
    snaps = month_snapshots(loans, months, health, understate_draws(loans, understate_rng, n_base))
    return snaps, snaps[snaps["understated"].to_numpy()]


def understate_draws(loans: pd.DataFrame, understate_rng: np.random.Generator, n_base: int | None = None) -> np.ndarray:
    """Per loan: whether a deteriorating lender would hide it as 关注 when it is 次级 (drawn once per run)."""
    n_base = len(loans) if n_base is None else n_base
    return np.r_[understate_rng.random(n_base), _loan_uniform(np.arange(n_base, len(loans)) * 104_729 + 71)] < 0.4


def month_snapshots(loans: pd.DataFrame, months: list[date], health: HealthPanel, hide_flag: np.ndarray,
                    month_idx: np.ndarray | list[int] | None = None) -> pd.DataFrame:
    """The snapshots of :func:`loan_snapshots` for the months ``month_idx`` (indices into ``months``;
    default all), ordered by loan row then month. Every value depends only on its loan and month, so
    a month's rows are the same whether it is made alone or with the others."""
    me = np.array(months, dtype="datetime64[D]")
    m_count = len(months)
    sel = np.arange(m_count) if month_idx is None else np.asarray(month_idx, dtype=np.int64)
    start_m = month_index(loans["start_date"].to_numpy(), months)
    mat_m = month_index(loans["maturity_date"].to_numpy(), months)
    dm = loans["default_month"].to_numpy()
    defaulted = dm != -99
    mcols = sel[None, :]
    out_mask = (mcols >= start_m[:, None]) & ((mcols < mat_m[:, None]) | (defaulted[:, None] & (mcols >= dm[:, None])))
    li, col = np.nonzero(out_mask)
    mi = sel[col]
    contract = loans["contract"].to_numpy()[li]
    term = loans["term"].to_numpy()[li].astype(float)
    start_mo = loans["start_date"].to_numpy().astype("datetime64[M]").astype(int)[li]
    cur_mo = me.astype("datetime64[M]").astype(int)[mi]
    eff_mo = np.where(defaulted[li] & (dm[li] <= mi), np.where(dm[li] >= 0, me.astype("datetime64[M]").astype(int)
                                                              [np.clip(dm[li], 0, m_count - 1)],
                                                              me[0].astype("datetime64[M]").astype(int) + dm[li]),
                      cur_mo)
    elapsed = np.clip(eff_mo - start_mo, 0, None)
    frac = np.clip(1.0 - elapsed / np.maximum(term, 1), 0.01, 1.0)
    amort = loans["amortising"].to_numpy()[li]
    balance = np.where(amort, np.round(contract * frac), contract).astype(np.int64)
    balance = np.clip(balance, 100, contract)
    dd = loans["default_date"].to_numpy().astype("datetime64[D]")[li]
    overdue = np.where(defaulted[li] & (me[mi] > dd), (me[mi] - dd).astype(int), 0)
    overdue = np.where(defaulted[li] & (dm[li] <= mi), np.maximum(overdue, 1), 0)
    cat = np.select([overdue == 0, overdue <= 90, overdue <= 180, overdue <= 360], [0, 1, 2, 3], 4)
    # watch list: some performing loans are 关注 anyway (more at weak lenders)
    inst_l = loans["inst_idx"].to_numpy()[li]
    zm = health.monthly(months)[inst_l, mi]
    u = _loan_uniform(li.astype(np.int64) * 7919 + 13)
    watch = (cat == 0) & (u < 0.015 * np.exp(-0.5 * zm))
    cat = np.where(watch, 1, cat)
    # deteriorating lenders hide some NPL as 关注 after their onset
    det = health.deteriorating[inst_l]
    onset_m = 3 * np.where(health.onset >= 0, health.onset, 10**6)[inst_l]
    understated = det & (mi >= onset_m) & (cat == 2) & hide_flag[li]
    cat = np.where(understated, 1, cat)
    return pd.DataFrame({"li": li, "mi": mi, "balance": balance, "overdue_days": overdue.astype(np.int32),
                         "category": cat.astype(np.int8), "understated": understated})


def _loan_uniform(x: np.ndarray) -> np.ndarray:
    """A deterministic uniform in [0, 1) per integer (a hash), so a loan's watch-list draw is stable."""
    x = (x.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    x ^= x >> np.uint64(31)
    x = (x * np.uint64(0xBF58476D1CE4E5B9)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    x ^= x >> np.uint64(29)
    return (x >> np.uint64(11)).astype(np.float64) / float(2**53)
