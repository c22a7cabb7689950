"""Prudential datasets: the institution master record and the capital adequacy report (the other
quarterly reports, derived from the loan detail, are in :mod:`.reports`).

Money amounts are int64 **fen** (CNY cents) in the frames this module returns, so identities such as
``total_rwa = credit_rwa + market_rwa + operational_rwa`` hold exactly; the landing writer formats
integer ``numeric(p,2)`` columns as decimals with two places (see
:func:`simulator.landing.format_frame`).

Capital ratios derive from the latent health score (:mod:`simulator.health`):
``CAR% = mean(type) + sd(type) * z`` with ``sd = (mean - 11) / 1.6``, so a healthy institution
(``z >= -1.6``) stays at or above 11% and a planted one ends between roughly 8.5% and 10%. Tier 1 and
CET1 follow from per-institution shares of tier 2 and additional tier 1 capital.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from include.registry.datasets import CAPITAL_REPORT, INSTITUTION
from simulator.health import NON_CAPITAL_TYPES, HealthPanel
from simulator.rng import Extension

#: Regulatory minimums (including the 2.5% conservation buffer), as fractions.
MIN_RATIOS = {"cet1": 0.075, "tier1": 0.085, "total": 0.105}

#: Mean capital adequacy ratio (%) by type, at z = 0.
CAR_MEAN = {
    "large_state_bank": 17.0, "joint_stock_bank": 13.3, "city_commercial_bank": 12.8,
    "rural_commercial_bank": 13.0, "village_bank": 13.8, "consumer_finance": 13.5,
    "financial_leasing": 13.2, "trust": 14.5,
}
#: log10 of total RWA (CNY) at the first period, by size tier (sd 0.2).
RWA_LOG10 = {1: 13.2, 2: 12.4, 3: 11.4, 4: 10.4, 5: 9.2}

# (low, high) uniform ranges per type: tier-2 share of total capital, AT1 share of tier 1,
# market RWA share and operational RWA share of total RWA.
_SHARES = {
    #                       tier2          at1           market          operational
    "large_state_bank":      ((0.18, 0.21), (0.08, 0.12), (0.020, 0.040), (0.06, 0.09)),
    "joint_stock_bank":      ((0.16, 0.21), (0.08, 0.13), (0.020, 0.050), (0.06, 0.09)),
    "city_commercial_bank":  ((0.12, 0.20), (0.02, 0.08), (0.010, 0.030), (0.06, 0.10)),
    "rural_commercial_bank": ((0.08, 0.18), (0.00, 0.04), (0.002, 0.010), (0.07, 0.10)),
    "village_bank":          ((0.05, 0.12), (0.00, 0.00), (0.000, 0.003), (0.07, 0.10)),
    "consumer_finance":      ((0.03, 0.10), (0.00, 0.00), (0.000, 0.005), (0.08, 0.12)),
    "financial_leasing":     ((0.03, 0.10), (0.00, 0.00), (0.000, 0.005), (0.05, 0.08)),
    "trust":                 ((0.03, 0.10), (0.00, 0.00), (0.000, 0.005), (0.10, 0.15)),
}


def _periods_col(periods: list[date], n: int) -> np.ndarray:
    return np.tile(np.array(periods, dtype="datetime64[D]"), n)


def institution_records(institutions: pd.DataFrame, periods: list[date]) -> pd.DataFrame:
    """The INSTITUTION dataset: every institution reports its master record every period (month)."""
    t = len(periods)
    inst = institutions.loc[institutions.index.repeat(t)].reset_index(drop=True)
    inst["report_period"] = _periods_col(periods, len(institutions))
    return inst[INSTITUTION.column_names]


def _uniform_by_type(rng: np.random.Generator, types: np.ndarray, which: int) -> np.ndarray:
    lo = np.array([_SHARES[t][which][0] for t in types])
    hi = np.array([_SHARES[t][which][1] for t in types])
    return lo + (hi - lo) * rng.random(len(types))


def capital_reports(
    rng: np.random.Generator,
    institutions: pd.DataFrame,
    health: HealthPanel,
    periods: list[date],
    *,
    total_rwa_fen: np.ndarray | None = None,
    ext: Extension | None = None,
) -> pd.DataFrame:
    """The CAPITAL_REPORT dataset for every capital-reporting institution (all but insurers) and
    period; amounts in int64 fen. Vectorised over institutions x periods.

    ``total_rwa_fen`` (capital reporters x periods, in the order of ``institutions`` without insurers)
    sets the RWA from the balance sheet (see :mod:`.reports`); by default RWA follows the size tier.
    ``ext`` draws the noise of periods after the base window from their own streams."""
    rep = institutions[~institutions["institution_type"].isin(NON_CAPITAL_TYPES)].reset_index(drop=True)
    n, t = len(rep), len(periods)
    ext = ext if ext is not None else Extension.none(t)
    types = rep["institution_type"].to_numpy()
    tiers = rep["size_tier"].to_numpy().astype(int)
    if list(health.periods) != list(periods):
        raise ValueError("health panel and capital reports must cover the same periods")
    z = health.z[health.rows_of(rep["institution_code"])] if n else np.zeros((0, t))

    mean = np.array([CAR_MEAN[x] for x in types])
    car = mean[:, None] + ((mean - 11.0) / 1.6)[:, None] * z  # percent
    tier2_share = _uniform_by_type(rng, types, 0)[:, None] + ext.normal(rng, 0, 0.004, n)
    tier2_share = np.clip(tier2_share, 0.0, 0.25)
    at1_base = _uniform_by_type(rng, types, 1)[:, None]
    at1_share = np.where(at1_base > 0, np.clip(at1_base + ext.normal(rng, 0, 0.002, n), 0.0, 0.15), 0.0)
    tier1 = car * (1 - tier2_share)
    cet1 = tier1 * (1 - at1_share)

    log_rwa0 = np.array([RWA_LOG10[k] for k in tiers]) + rng.normal(0, 0.2, size=n)
    log_rwa0 = np.clip(log_rwa0, 8.7, 13.6)
    growth = rng.normal(0.018, 0.008, size=n)[:, None] + ext.normal(rng, 0, 0.01, n)
    growth[:, 0] = 0.0
    rwa = 10 ** log_rwa0[:, None] * np.exp(np.cumsum(growth, axis=1))

    total_rwa = np.rint(rwa * 100).astype(np.int64)
    if total_rwa_fen is not None:
        total_rwa = np.asarray(total_rwa_fen, dtype=np.int64).reshape(n, t)
    market = np.rint(total_rwa * _uniform_by_type(rng, types, 2)[:, None]).astype(np.int64)
    operational = np.rint(total_rwa * _uniform_by_type(rng, types, 3)[:, None]).astype(np.int64)
    credit = total_rwa - market - operational
    total_cap = np.rint(total_rwa * car / 100).astype(np.int64)
    tier1_cap = np.minimum(np.rint(total_rwa * tier1 / 100).astype(np.int64), total_cap)
    cet1_cap = np.minimum(np.rint(total_rwa * cet1 / 100).astype(np.int64), tier1_cap)

    out = pd.DataFrame({
        "institution_code": np.repeat(rep["institution_code"].to_numpy(), t),
        "report_period": _periods_col(periods, n),
        "cet1_capital": cet1_cap.ravel(),
        "tier1_capital": tier1_cap.ravel(),
        "total_capital": total_cap.ravel(),
        "credit_rwa": credit.ravel(),
        "market_rwa": market.ravel(),
        "operational_rwa": operational.ravel(),
        "total_rwa": total_rwa.ravel(),
    })
    return out[CAPITAL_REPORT.column_names]


def capital_ratios(capital: pd.DataFrame) -> pd.DataFrame:
    """institution_code, report_period, cet1_ratio, tier1_ratio, car (fractions) from a capital frame,
    plus a boolean ``breach_<name>`` per :data:`MIN_RATIOS` entry."""
    rwa = capital["total_rwa"].to_numpy(dtype=float)
    out = capital[["institution_code", "report_period"]].copy()
    out["cet1_ratio"] = capital["cet1_capital"].to_numpy(dtype=float) / rwa
    out["tier1_ratio"] = capital["tier1_capital"].to_numpy(dtype=float) / rwa
    out["car"] = capital["total_capital"].to_numpy(dtype=float) / rwa
    for name, col in (("cet1", "cet1_ratio"), ("tier1", "tier1_ratio"), ("total", "car")):
        out[f"breach_{name}"] = out[col] < MIN_RATIOS[name]
    return out
