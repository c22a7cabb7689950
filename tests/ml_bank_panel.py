"""Test data (no tests here): a foreign panel of banks by quarter, periods written ``YYYYQn``, with a
known signal, a weaker rule score and a published split (fit 2009Q4-2010Q3, test 2010Q4-2012Q4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

QUARTERS = [f"{y}Q{q}" for y in range(2009, 2013) for q in range(1, 5)][3:]  # 2009Q4 .. 2012Q4: 13 quarters
PUBLISHED = ["--train-until", "2010Q3", "--calibrate", "cv", "--holdout-from", "2010Q4", "--holdout-until", "2012Q4"]
ARGS = ["--entity", "bank", "--period", "quarter", "--label", "failed_next_4q", "--features",
        "car,npl,roa,noise", "--baseline", "camels"]


def bank_panel(n_banks: int = 1500, seed: int = 13) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1, n_banks)[:, None] + np.cumsum(rng.normal(0, 0.3, (n_banks, len(QUARTERS))), axis=1)
    p = 1 / (1 + np.exp(-(-4.2 + 1.6 * z)))
    y = (rng.random(z.shape) < p).astype(float)
    rows = []
    for i in range(n_banks):
        for t, q in enumerate(QUARTERS):
            rows.append({"bank": f"BK{i:05d}", "quarter": q,
                         "car": round(0.13 - 0.02 * z[i, t] + rng.normal(0, 0.01), 5),
                         "npl": round(max(0.0, 0.03 + 0.015 * z[i, t] + rng.normal(0, 0.008)), 5),
                         "roa": round(0.008 - 0.004 * z[i, t] + rng.normal(0, 0.004), 5),
                         "noise": round(rng.normal(), 4),
                         "camels": int(np.clip(np.round(3 + 0.6 * (z[i, t] + rng.normal(0, 1.6))), 1, 5)),
                         "failed_next_4q": y[i, t]})
    return pd.DataFrame(rows)


def write(path: Path, **kw) -> Path:
    bank_panel(**kw).to_csv(path, index=False)
    return path
