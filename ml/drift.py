"""Population stability index (PSI) per feature between a model's training rows and scoring rows.

The reference is stored with the model at training time: decile edges of each feature on the training
rows and the share of rows per bin, over the values present (missing values are left out of both
sides: a change feature is missing in a panel's first quarter by construction, which would otherwise
read as drift). PSI = sum over bins of
(actual - expected) * ln(actual / expected), shares floored at 1e-4. Levels follow the usual reading:
< 0.10 stable, 0.10-0.25 moderate, > 0.25 large.
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


def reference(frame: pd.DataFrame, features: list[str], bins: int = 10) -> dict[str, dict]:
    out = {}
    for f in features:
        v = frame[f].to_numpy(dtype=float)
        finite = v[~np.isnan(v)]
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])) if len(finite) else np.array([])
        out[f] = {"edges": edges.tolist(), "expected": _shares(v, edges).tolist()}
    return out


def psi(ref: dict, values: np.ndarray) -> float:
    edges = np.asarray(ref["edges"], dtype=float)
    e = np.maximum(np.asarray(ref["expected"], dtype=float), FLOOR)
    a = np.maximum(_shares(np.asarray(values, dtype=float), edges), FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def level(value: float) -> str:
    return "large" if value > LARGE else "moderate" if value >= MODERATE else "stable"


def compare(refs: dict[str, dict], frame: pd.DataFrame) -> pd.DataFrame:
    """One row per feature: feature, psi, level."""
    rows = [{"feature": f, "psi": psi(r, frame[f].to_numpy(dtype=float))} for f, r in refs.items() if f in frame]
    out = pd.DataFrame(rows, columns=["feature", "psi"])
    out["level"] = out["psi"].map(level)
    return out
