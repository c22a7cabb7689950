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

    def long(self) -> pd.DataFrame:
        """One row per institution and period: institution_code, report_period, health_z,
        planted_deteriorating."""
        n, t = self.z.shape
        return pd.DataFrame({
            "institution_code": np.repeat(self.codes, t),
            "report_period": np.tile(np.array(self.periods, dtype="datetime64[D]"), n),
            "health_z": self.z.ravel(),
            "planted_deteriorating": np.repeat(self.deteriorating, t),
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
    floor_z: float = -1.6,
    planted_end_z: tuple[float, float] = (-3.6, -2.6),
) -> HealthPanel:
    """A random walk with drift per institution, vectorised over institutions and periods.

    Healthy institutions: level ~ N(0, 0.6), drift ~ N(0, 0.04) per period, AR(1) noise; kept above
    ``floor_z`` (which maps to a ratio above every minimum). Planted ones: start in (-0.8, 0.3) and
    fall roughly linearly to a value in ``planted_end_z`` at the last period, with small noise.
    """
    n, t = len(institutions), len(periods)
    det = choose_deteriorating(rng, institutions, deteriorating_share)
    steps = np.arange(t)
    level = rng.normal(0.0, 0.6, size=n)
    drift = rng.normal(0.0, 0.04, size=n)
    shocks = rng.normal(0.0, 0.12, size=(n, t))
    ar = np.zeros((n, t))
    for j in range(t):  # AR(1) over time only; vectorised over institutions
        ar[:, j] = (0.6 * ar[:, j - 1] if j else 0.0) + shocks[:, j]
    z = level[:, None] + drift[:, None] * steps[None, :] + ar
    z = np.maximum(z, floor_z)

    start = rng.uniform(-0.8, 0.3, size=n)
    end = rng.uniform(*planted_end_z, size=n)
    frac = steps / max(t - 1, 1)
    path = start[:, None] + (end - start)[:, None] * frac[None, :] + rng.normal(0, 0.08, size=(n, t))
    path[:, -1] = end  # the last period always lands where planned
    z = np.where(det[:, None], path, z)
    return HealthPanel(codes=institutions["institution_code"].tolist(), periods=list(periods), z=z,
                       deteriorating=det)
