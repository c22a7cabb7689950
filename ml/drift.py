"""Population stability index (PSI) per feature between a model's training rows and scoring rows.

The reference is stored with the model at training time: decile edges of each feature on the training
rows and the share of rows per bin, over the values present (missing values are left out of both
sides: a change feature is missing in a panel's first quarter by construction, which would otherwise
read as drift). PSI = sum over bins of
(actual - expected) * ln(actual / expected), shares floored at 1e-4. Levels follow the usual reading:
< 0.10 stable, 0.10-0.25 moderate, > 0.25 large.

Seasonal features (year-to-date figures, e.g. a profit that accumulates over the year, named with
``--seasonal``) are compared with the same quarter (or month) of the year in the training rows: the
reference then also holds one set of edges and shares per month of the year, and the scored period
uses its own month's reference (falling back to the pooled one). Without it such a feature "drifts"
every fourth quarter by construction. Infinite values fall in the outermost bins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FLOOR = 1e-4
MODERATE, LARGE = 0.10, 0.25


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    present = values[~np.isnan(values)]
    counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1).astype(float)
    return counts / max(1.0, counts.sum())


def _ref(v: np.ndarray, bins: int) -> dict:
    finite = v[np.isfinite(v)]
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])) if len(finite) else np.array([])
    return {"edges": edges.tolist(), "expected": _shares(v, edges).tolist()}


def reference(frame: pd.DataFrame, features: list[str], bins: int = 10, period: str | None = None,
              seasonal: tuple[str, ...] = ()) -> dict[str, dict]:
    out = {}
    for f in features:
        out[f] = _ref(frame[f].to_numpy(dtype=float), bins)
        if f in seasonal and period:
            month = frame[period].dt.month
            out[f]["by_month"] = {str(m): _ref(frame.loc[month == m, f].to_numpy(dtype=float), bins)
                                  for m in sorted(month.unique())}
    return out


def psi(ref: dict, values: np.ndarray) -> float:
    edges = np.asarray(ref["edges"], dtype=float)
    e = np.maximum(np.asarray(ref["expected"], dtype=float), FLOOR)
    a = np.maximum(_shares(np.asarray(values, dtype=float), edges), FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def level(value: float) -> str:
    return "large" if value > LARGE else "moderate" if value >= MODERATE else "stable"


def compare(refs: dict[str, dict], frame: pd.DataFrame, month: int | None = None) -> pd.DataFrame:
    """One row per feature: feature, psi, level (seasonal features against the same month of the year)."""
    rows = [{"feature": f, "psi": psi(r.get("by_month", {}).get(str(month), r), frame[f].to_numpy(dtype=float))}
            for f, r in refs.items() if f in frame]
    out = pd.DataFrame(rows, columns=["feature", "psi"])
    out["level"] = out["psi"].map(level)
    return out
