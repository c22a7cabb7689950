"""Latent financial health: one standardised score per institution per period.

``z = 0`` is an average institution of its type, negative is weaker. Every simulated indicator (capital
ratios now; asset quality, liquidity, concentration in later issues) is a function of ``z`` plus
indicator-specific noise, so the indicators of one institution move together and a planted
deterioration shows up consistently across datasets. Planted institutions drift down so that their
capital adequacy falls below the regulatory minimum by the last period; the others wander around a
stable level and stay above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from simulator.rng import Extension

#: Types that submit the capital adequacy report (insurers report solvency instead).
NON_CAPITAL_TYPES = frozenset({"insurer"})


@dataclass
class HealthPanel:
    """``z[i, t]`` for institution ``codes[i]`` at ``periods[t]``; ``deteriorating[i]`` marks the
    institutions planted to deteriorate."""

    codes: list[str]
    periods: list[date]
    z: np.ndarray
    deteriorating: np.ndarray
    recovering: np.ndarray | None = None  # dip and recover (never below the capital floor)
    onset: np.ndarray | None = None  # quarter index where a planted decline starts (-1: none)
    #: months up to ``base_end`` (the base window) take at most period ``t_base - 1``, as in the base
    #: world; later months (``simulate advance``) take the period they fall in
    base_end: date | None = None
    t_base: int | None = None

    def __post_init__(self) -> None:
        n = len(self.codes)
        if self.recovering is None:
            self.recovering = np.zeros(n, dtype=bool)
        if self.onset is None:
            self.onset = np.where(self.deteriorating, 0, -1)

    def of(self, code: str) -> np.ndarray:
        """The quarterly ``z`` path of one institution."""
        return self.z[self.codes.index(code)]

    def monthly(self, months: list[date]) -> np.ndarray:
        """``z`` per institution and month (each month takes its quarter's value)."""
        m = np.array(months, dtype="datetime64[D]")
        q_index = np.searchsorted(np.array(self.periods, dtype="datetime64[D]"), m)
        cap = np.full(len(m), len(self.periods) - 1)
        if self.base_end is not None:
            cap = np.where(m <= np.datetime64(self.base_end, "D"), self.t_base - 1, cap)
        return self.z[:, np.minimum(np.maximum(q_index, 0), cap)]

    def head(self, t: int) -> HealthPanel:
        """The panel over the first ``t`` periods."""
        return HealthPanel(codes=self.codes, periods=self.periods[:t], z=self.z[:, :t],
                           deteriorating=self.deteriorating, recovering=self.recovering, onset=self.onset,
                           base_end=self.base_end, t_base=None if self.t_base is None else min(self.t_base, t))

    def long(self) -> pd.DataFrame:
        """One row per institution and period: institution_code, report_period, health_z,
        planted_deteriorating, planted_recovering."""
        n, t = self.z.shape
        return pd.DataFrame({
            "institution_code": np.repeat(self.codes, t),
            "report_period": np.tile(np.array(self.periods, dtype="datetime64[D]"), n),
            "health_z": self.z.ravel(),
            "planted_deteriorating": np.repeat(self.deteriorating, t),
            "planted_recovering": np.repeat(self.recovering, t),
        })

    def rows_of(self, codes) -> np.ndarray:
        """Row positions in ``z`` of ``codes``."""
        pos = {c: i for i, c in enumerate(self.codes)}
        return np.array([pos[c] for c in codes], dtype=int)


def choose_deteriorating(
    rng: np.random.Generator, institutions: pd.DataFrame, share: float, *, minimum: int = 1
) -> np.ndarray:
    """Boolean mask: which institutions are planted to deteriorate.

    Candidates are the capital-reporting, non-systemic institutions (large state-owned banks are
    excluded); about ``share`` of them, at least ``minimum`` when there are candidates.
    """
    cand = ~institutions["institution_type"].isin(NON_CAPITAL_TYPES | {"large_state_bank"}).to_numpy()
    n_cand = int(cand.sum())
    k = min(n_cand, max(minimum, int(round(share * n_cand))))
    mask = np.zeros(len(institutions), dtype=bool)
    if k:
        mask[rng.choice(np.flatnonzero(cand), size=k, replace=False)] = True
    return mask


def simulate_health(
    rng: np.random.Generator,
    institutions: pd.DataFrame,
    periods: list[date],
    *,
    deteriorating_share: float = 0.08,
    recovering_share: float = 0.0,
    floor_z: float = -1.6,
    planted_end_z: tuple[float, float] = (-3.6, -2.6),
    ext: Extension | None = None,
) -> HealthPanel:
    """A random walk with drift per institution, vectorised over institutions and periods.

    Healthy institutions: level ~ N(0, 0.6), drift ~ N(0, 0.04) per period, AR(1) noise; kept above
    ``floor_z`` (which maps to a ratio above every minimum). Planted ones: start in (-0.8, 0.3), stay
    there until an onset quarter in the first half of the window, then fall roughly linearly to a value
    in ``planted_end_z`` at the last period, with small noise. Recovering ones (about
    ``recovering_share`` of the non-planted, drawn from a separate stream so the planted ones do not
    change) dip to about ``floor_z`` mid-window and return to their level.

    ``ext`` (:class:`~simulator.rng.Extension`) continues the base window (its first
    ``ext.t_base`` periods, where everything is planned) into the extra periods: the walk goes on with
    shocks from the extra periods' own streams, planted ones stay near their planned end value, a
    recovering one follows its planned dip curve.
    """
    n, t = len(institutions), len(periods)
    ext = ext if ext is not None else Extension.none(t)
    tb = ext.t_base
    det = choose_deteriorating(rng, institutions, deteriorating_share)
    steps = np.arange(t)
    level = rng.normal(0.0, 0.6, size=n)
    drift = rng.normal(0.0, 0.04, size=n)
    shocks = ext.normal(rng, 0.0, 0.12, n)
    ar = np.zeros((n, t))
    for j in range(t):  # AR(1) over time only; vectorised over institutions
        ar[:, j] = (0.6 * ar[:, j - 1] if j else 0.0) + shocks[:, j]
    z = level[:, None] + drift[:, None] * steps[None, :] + ar
    z = np.maximum(z, floor_z)

    start = rng.uniform(-0.8, 0.3, size=n)
    end = rng.uniform(*planted_end_z, size=n)
    onset_rng = np.random.default_rng(rng.integers(2**63))
    onset = np.where(det, onset_rng.integers(0, max(tb // 2, 1), size=n), -1)
    frac = np.clip((steps[None, :] - onset[:, None]) / np.maximum(tb - 1 - onset, 1)[:, None], 0.0, 1.0)
    path = start[:, None] + (end - start)[:, None] * frac + ext.normal(rng, 0, 0.08, n)
    path[:, tb - 1] = end  # the last base period always lands where planned (later ones stay near it)
    z = np.where(det[:, None], path, z)

    rec = np.zeros(n, dtype=bool)
    cand = np.flatnonzero(~det & ~institutions["institution_type"].isin(["large_state_bank"]).to_numpy())
    k = int(round(recovering_share * n))
    if k and len(cand) and tb >= 4:
        rec[onset_rng.choice(cand, size=min(k, len(cand)), replace=False)] = True
        mid = onset_rng.integers(tb // 3, max(tb // 3 + 1, 2 * tb // 3), size=n)
        width = max(tb / 4, 1.0)
        dip = np.exp(-0.5 * ((steps[None, :] - mid[:, None]) / width) ** 2)
        depth = (z[:, :tb].mean(axis=1) - floor_z - 0.05)[:, None]
        z = np.where(rec[:, None], np.maximum(z - depth * dip, floor_z), z)
        onset = np.where(rec, np.maximum(mid - int(round(width)), 0), onset)
    return HealthPanel(codes=institutions["institution_code"].tolist(), periods=list(periods), z=z,
                       deteriorating=det, recovering=rec, onset=onset)
