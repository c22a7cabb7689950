"""The PNG figures of a model report: ROC and precision-recall (every candidate and the rule baseline on
the same axes), reliability diagram on log-spaced bins, feature importance, score by warning level."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ml.levels import LevelConfig, assign
from ml.metrics import reliability


def _figure(figsize: tuple[float, float]):
    """A figure and its axes drawn by Agg straight to a PNG: no pyplot (its import, its global figure
    manager and its lock are not needed to write files, and a ``Figure`` of its own is safe in any thread)."""
    import matplotlib
    from matplotlib.figure import Figure

    matplotlib.use("Agg")  # a backend named: reading an unresolved one (boxplot copies rcParams) imports pyplot
    fig = Figure(figsize=figsize)
    return fig, fig.subplots()


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def roc_pr(results: list, out: Path) -> None:
    from sklearn.metrics import precision_recall_curve, roc_curve

    for kind, fname in (("roc", "roc.png"), ("pr", "pr.png")):
        fig, ax = _figure((5, 4))
        for r in results:
            y, s = r.holdout_pred["label"], r.holdout_pred["score"]
            if y.nunique() < 2:
                continue
            if kind == "roc":
                fpr, tpr, _ = roc_curve(y, s)
                ax.plot(fpr, tpr, label=f"{r.name} (AUC {r.holdout['roc_auc']:.3f})")
            else:
                prec, rec, _ = precision_recall_curve(y, s, drop_intermediate=True)  # same curve, its corners only
                ax.plot(rec, prec, label=f"{r.name} (AP {r.holdout['pr_auc']:.3f})")
        if kind == "roc":
            ax.plot([0, 1], [0, 1], ls=":", c="grey", label="chance")
            ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, out-of-time holdout")
        else:
            ax.axhline(results[0].holdout["prevalence"], ls=":", c="grey", label="chance (prevalence)")
            ax.set(xlabel="recall", ylabel="precision", title="Precision-recall, out-of-time holdout")
        ax.legend(loc="best", fontsize=8)
        _save(fig, out / fname)


def calibration(results: list, out: Path) -> dict[str, pd.DataFrame]:
    """Reliability on log-spaced bins for every probability model; returns the bins per model."""
    fig, ax = _figure((5, 4))
    bins = {}
    for r in results:
        if r.name == "baseline":
            continue
        b = reliability(r.holdout_pred["label"], r.holdout_pred["score"])
        bins[r.name] = b
        ax.plot(b["predicted"].clip(lower=1e-4), b["observed"].clip(lower=1e-4), marker="o",
                label=f"{r.name} (Brier {r.holdout['brier']:.4f}, ECE {r.holdout.get('ece', float('nan')):.4f})")
    ax.plot([1e-4, 1], [1e-4, 1], ls=":", c="grey")
    ax.set(xscale="log", yscale="log", xlabel="predicted probability (log-spaced bins)",
           ylabel="observed frequency", title="Reliability, out-of-time holdout")
    ax.legend(fontsize=7)
    _save(fig, out / "calibration.png")
    return bins


def importance_plot(imp: dict[str, float], name: str, out: Path) -> None:
    items = sorted(((k, v) for k, v in imp.items() if v is not None and np.isfinite(v)), key=lambda kv: kv[1])[-15:]
    fig, ax = _figure((6, max(2.5, 0.3 * len(items) + 1)))
    ax.barh([k for k, _ in items], [v for _, v in items])
    ax.set(title=f"Feature importance ({'|std. coefficient|' if name == 'logreg' else 'permutation, PR-AUC'})")
    _save(fig, out / "importance.png")


def levels_plot(r, levels: LevelConfig, out: Path) -> pd.DataFrame:
    pred = r.holdout_pred.assign(level=assign(r.holdout_pred["score"].to_numpy(), levels))
    order = [lv for lv in ("red", "orange", "yellow", "blue", "none") if (pred["level"] == lv).any()]
    fig, ax = _figure((5, 4))
    ax.boxplot([pred.loc[pred["level"] == lv, "score"] for lv in order], tick_labels=order)
    ax.set(yscale="log", ylabel="calibrated probability", title="Score distribution by warning level")
    _save(fig, out / "score_by_level.png")
    return pred.groupby("level", sort=False).agg(rows=("label", "size"), events=("label", "sum")).reindex(order)
