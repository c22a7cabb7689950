"""Test data for the ml tests (no tests here): a labelled panel that has nothing to do with the simulator,
consumer-loan borrowers by month.

Each borrower has a hidden risk that drifts; the event (a default) becomes likelier as it rises, and
the observable features (debt-to-income, card utilisation, days in arrears) are noisy views of it. The
label is "defaults within the next three months", derived from the simulated default month, so
positives form runs that end the month before the default (what lead times expect).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def loan_panel(n_borrowers: int = 300, n_months: int = 12, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    months = pd.date_range("2021-01-31", periods=n_months, freq="ME")
    risk = rng.normal(0, 1, n_borrowers)[:, None] + np.cumsum(rng.normal(0, 0.35, (n_borrowers, n_months)), axis=1)
    p_default = 1 / (1 + np.exp(-(-5.2 + 1.6 * risk)))
    default_month = np.full(n_borrowers, 10_000)
    for i in range(n_borrowers):
        hit = np.flatnonzero(rng.random(n_months) < p_default[i])
        if len(hit):
            default_month[i] = hit[0]
    rows = []
    for i in range(n_borrowers):
        for m in range(min(n_months, default_month[i])):  # a defaulted borrower leaves the panel
            future = n_months - 1 - m  # months observed after m
            label = 1.0 if m < default_month[i] <= m + 3 else (0.0 if future >= 1 else np.nan)
            rows.append({
                "borrower": f"B{i:04d}", "month": months[m].date().isoformat(),
                "dti": round(0.35 + 0.08 * risk[i, m] + rng.normal(0, 0.05), 4),
                "utilisation": round(float(np.clip(0.4 + 0.15 * risk[i, m] + rng.normal(0, 0.12), 0, 1.5)), 4),
                "arrears_days": int(max(0, rng.normal(8 * risk[i, m], 10))),
                "tenure_years": round(float(rng.uniform(0, 20)), 1),
                "flagged_by_collections": int(risk[i, m] > 2.5),
                "defaults_next_3m": label,
            })
    return pd.DataFrame(rows)


def write_csv(path: Path, **kw) -> Path:
    frame = loan_panel(**kw)
    frame.to_csv(path, index=False)
    return path


TRAIN_ARGS = ["--entity", "borrower", "--period", "month", "--label", "defaults_next_3m",
              "--features", "dti,utilisation,arrears_days,tenure_years", "--baseline", "arrears_days",
              "--extra", "flagged_by_collections"]
