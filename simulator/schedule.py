"""When institutions submit: a deterministic timestamp per (institution, period, version)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np

from include.ingest.contract import CST
from simulator.rng import Extension

#: A submission is due this many days after its period ends; later ones are late (ground truth).
DEADLINE_DAYS = 30


def submission_times(
    rng: np.random.Generator,
    codes: list[str],
    periods: list[date],
    *,
    lag_days: tuple[int, int] = (8, 28),
    extra_lag: np.ndarray | None = None,
    ext: Extension | None = None,
) -> dict[tuple[str, date], datetime]:
    """``{(code, period): submitted_at}``: ``lag_days`` (inclusive range) after the period end, during
    office hours 09:00-17:59 China Standard Time. Vectorised draws, one per pair. ``extra_lag``
    (codes x periods, days) delays weak institutions beyond the deadline (see :data:`DEADLINE_DAYS`).
    ``ext`` draws periods after the base window from their own streams."""
    n, t = len(codes), len(periods)
    ext = ext if ext is not None else Extension.none(t)
    lag = ext.integers(rng, lag_days[0], lag_days[1] + 1, n)
    if extra_lag is not None:
        lag = lag + np.asarray(extra_lag, dtype=int).reshape(n, t)
    secs = ext.integers(rng, 9 * 3600, 18 * 3600, n)
    out = {}
    for i, code in enumerate(codes):
        for j, p in enumerate(periods):
            day = p + timedelta(days=int(lag[i, j]))
            out[(code, p)] = datetime.combine(day, time(), tzinfo=CST) + timedelta(seconds=int(secs[i, j]))
    return out
