"""Evaluation metrics: ranking (ROC-AUC, PR-AUC), calibration (Brier, ECE on log-spaced bins), top-k
(pooled and per period), lead time, and ``jsonsafe`` (NaN/inf -> null) for everything stored or sent.

Lead time works from the label alone: a label "event within the next h periods" is 1 on a run of
consecutive periods that ends the period before the event, so the event is at the period after the
run's last positive row. An episode's lead time is the number of periods from the first period in the
run where the entity was *flagged* (in the top ``flag_share`` of its period by score) to the event. A
run that ends at the last labelled period, or starts before the first scored period, is censored and
its lead time is a lower bound; episodes never flagged count as missed. Lead times are reported over
the episodes of more than one period only: with one row per episode every lead time is 1 by
construction, which says nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from ml.metrics_json import safe

TOP_SHARES = (0.01, 0.05, 0.10)
RELIABILITY_BINS = 10
jsonsafe = safe  # NaN/inf -> None, numpy scalars -> Python numbers


def reliability(y, p, bins: int = RELIABILITY_BINS) -> pd.DataFrame:
    """Log-spaced probability bins (a low base rate puts most rows under 0.05; equal-width or equal-count
    bins hide over-prediction at the top): per bin rows, mean predicted, observed frequency."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    lo = max(1e-4, float(np.min(p))) if len(p) else 1e-4
    edges = np.unique(np.r_[0.0, np.geomspace(lo, 1.0, bins + 1)[1:-1], 1.0 + 1e-9])
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    rows = []
    for b in np.unique(idx):
        m = idx == b
        rows.append({"low": float(edges[b]), "high": float(min(1.0, edges[b + 1])), "rows": int(m.sum()),
                     "predicted": float(p[m].mean()), "observed": float(y[m].mean())})
    return pd.DataFrame(rows, columns=["low", "high", "rows", "predicted", "observed"])


def ece(y, p) -> float:
    r = reliability(y, p)
    return float((r["rows"] * (r["predicted"] - r["observed"]).abs()).sum() / max(1, r["rows"].sum()))


def top_k(y: np.ndarray, score: np.ndarray, share: float) -> tuple[float, float]:
    """(precision, recall) among the top ``share`` of rows by score (ties broken by row order)."""
    n = len(y)
    k = max(1, math.ceil(share * n))
    order = np.argsort(-score, kind="stable")[:k]
    hits = float(y[order].sum())
    pos = float(y.sum())
    return hits / k, (hits / pos if pos else float("nan"))


def evaluate(y, score, probability: bool = True) -> dict[str, float]:
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    out: dict[str, float] = {"n": int(len(y)), "positives": int(y.sum()), "prevalence": float(y.mean())}
    both = 0 < y.sum() < len(y)
    out["roc_auc"] = float(roc_auc_score(y, score)) if both else float("nan")
    out["pr_auc"] = float(average_precision_score(y, score)) if both else float("nan")
    out["brier"] = float(brier_score_loss(y, score)) if probability else float("nan")
    out["ece"] = ece(y, score) if probability and len(y) else float("nan")
    out["predicted_over_observed"] = (float(score.mean() / y.mean()) if probability and y.sum() else float("nan"))
    for s in TOP_SHARES:
        p, r = top_k(y, score, s)
        out[f"precision_top{int(s * 100)}"] = p
        out[f"recall_top{int(s * 100)}"] = r
    return out


def top_k_by_period(pred: pd.DataFrame, shares=TOP_SHARES) -> list[dict]:
    """Recall of the top 1/5/10% of each period (the cut a supervisor applies each period)."""
    out = []
    for period, g in pred.groupby("period", sort=True):
        y, sc = g["label"].to_numpy(dtype=float), g["score"].to_numpy(dtype=float)
        row = {"period": str(pd.Timestamp(period).date()), "rows": len(g), "positives": int(y.sum())}
        for s in shares:
            row[f"recall_top{int(s * 100)}"] = top_k(y, sc, s)[1]
        out.append(row)
    return out


def flags(pred: pd.DataFrame, period: str, score: str, share: float = 0.10) -> pd.Series:
    """True where a row is in the top ``share`` of its period by score (ties included)."""
    n = pred.groupby(period)[score].transform("size")
    rank = pred.groupby(period)[score].rank(method="min", ascending=False)
    return rank <= np.ceil(share * n)


def lead_times(pred: pd.DataFrame, entity: str, period: str, label: str, score: str,
               all_periods: list, share: float = 0.10) -> dict[str, float]:
    """Episodes, share flagged and lead time in periods (see module docstring)."""
    idx = {p: i for i, p in enumerate(sorted(all_periods))}
    last_idx = len(idx) - 1
    pred = pred.assign(_flag=flags(pred, period, score, share), _i=pred[period].map(idx))
    first_scored = pred["_i"].min()
    leads, censored, episodes, multi = [], 0, 0, 0
    for _, g in pred[pred[label] == 1].sort_values("_i").groupby(entity):
        ii = g["_i"].to_numpy()
        breaks = np.flatnonzero(np.diff(ii) != 1)
        for run in np.split(np.arange(len(ii)), breaks + 1):
            episodes += 1
            run_i = ii[run]
            event = run_i[-1] + 1
            is_censored = run_i[-1] == last_idx or run_i[0] == first_scored
            censored += int(is_censored)
            flagged = g["_flag"].to_numpy()[run]
            if len(run) > 1:
                multi += 1
            if flagged.any():
                leads.append((int(event - run_i[np.argmax(flagged)]), len(run) > 1))
    multi_leads = [lead for lead, long in leads if long]
    return {
        "episodes": episodes,
        "episodes_censored": censored,
        "episodes_flagged": len(leads),
        "share_flagged": len(leads) / episodes if episodes else float("nan"),
        "episodes_multi_period": multi,
        "median_lead_periods": float(np.median(multi_leads)) if multi_leads else float("nan"),
        "mean_lead_periods": float(np.mean(multi_leads)) if multi_leads else float("nan"),
    }
