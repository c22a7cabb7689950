"""A model report per run: Markdown with PNG plots (ROC, precision-recall, calibration, feature
importance, score distribution by warning level), next to a JSON of every figure."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ml.levels import LevelConfig, assign
from ml.train import Result

log = logging.getLogger(__name__)
METRIC_ROWS = ("roc_auc", "pr_auc", "brier", "precision_top5", "recall_top5", "precision_top10", "recall_top10",
               "n", "positives", "prevalence")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _roc_pr(results: list[Result], out: Path) -> None:
    from sklearn.metrics import precision_recall_curve, roc_curve

    plt = _plt()
    for kind, fname in (("roc", "roc.png"), ("pr", "pr.png")):
        fig, ax = plt.subplots(figsize=(5, 4))
        for r in results:
            y, s = r.holdout_pred["label"], r.holdout_pred["score"]
            if y.nunique() < 2:
                continue
            if kind == "roc":
                fpr, tpr, _ = roc_curve(y, s)
                ax.plot(fpr, tpr, label=f"{r.name} (AUC {r.holdout['roc_auc']:.3f})")
            else:
                prec, rec, _ = precision_recall_curve(y, s)
                ax.plot(rec, prec, label=f"{r.name} (AP {r.holdout['pr_auc']:.3f})")
        if kind == "roc":
            ax.plot([0, 1], [0, 1], ls=":", c="grey")
            ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, out-of-time holdout")
        else:
            ax.axhline(results[0].holdout["prevalence"], ls=":", c="grey")
            ax.set(xlabel="recall", ylabel="precision", title="Precision-recall, out-of-time holdout")
        ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        fig.savefig(out / fname, dpi=90)
        plt.close(fig)


def _calibration(r: Result, out: Path) -> None:
    from sklearn.calibration import calibration_curve

    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 4))
    y, s = r.holdout_pred["label"], r.holdout_pred["score"]
    frac, mean = calibration_curve(y, s, n_bins=8, strategy="quantile")
    ax.plot(mean, frac, marker="o", label=r.name)
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set(xlabel="predicted probability", ylabel="observed frequency",
           title=f"Calibration (Brier {r.holdout['brier']:.4f})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "calibration.png", dpi=90)
    plt.close(fig)


def importance(r: Result, panel_rows: pd.DataFrame) -> dict[str, float]:
    """|standardised coefficient| for logreg; permutation importance (PR-AUC drop) on the holdout otherwise."""
    own = r.model.importance()
    if own is not None:
        return own
    from sklearn.inspection import permutation_importance
    from threadpoolctl import threadpool_limits

    y = panel_rows[r.model.meta["label"]].astype(int)
    if y.nunique() < 2:
        return {f: float("nan") for f in r.model.features}
    with threadpool_limits(1):
        pi = permutation_importance(r.model.calibrated, panel_rows[r.model.features], y,
                                    scoring="average_precision", n_repeats=5, random_state=0)
    return dict(zip(r.model.features, pi.importances_mean.round(6).tolist(), strict=True))


def _importance_plot(imp: dict[str, float], r: Result, out: Path) -> None:
    plt = _plt()
    items = sorted(((k, v) for k, v in imp.items() if np.isfinite(v)), key=lambda kv: kv[1])[-15:]
    fig, ax = plt.subplots(figsize=(6, max(2.5, 0.3 * len(items) + 1)))
    ax.barh([k for k, _ in items], [v for _, v in items])
    ax.set(title=f"Feature importance ({'|std. coefficient|' if r.name == 'logreg' else 'permutation, PR-AUC'})")
    fig.tight_layout()
    fig.savefig(out / "importance.png", dpi=90)
    plt.close(fig)


def _levels_plot(r: Result, levels: LevelConfig, out: Path) -> pd.DataFrame:
    plt = _plt()
    pred = r.holdout_pred.assign(level=assign(r.holdout_pred["score"].to_numpy(), levels))
    order = [lv for lv in ("red", "orange", "yellow", "blue", "none") if (pred["level"] == lv).any()]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.boxplot([pred.loc[pred["level"] == lv, "score"] for lv in order], tick_labels=order)
    ax.set(yscale="log", ylabel="calibrated probability", title="Score distribution by warning level")
    fig.tight_layout()
    fig.savefig(out / "score_by_level.png", dpi=90)
    plt.close(fig)
    return pred.groupby("level", sort=False).agg(rows=("label", "size"), events=("label", "sum")).reindex(order)


def _fmt(v) -> str:
    if isinstance(v, float):
        return "n/a" if not np.isfinite(v) else f"{v:.4f}"
    return str(v)


def write(out: Path, model_name: str, r: Result, others: list[Result], holdout_rows: pd.DataFrame,
          levels: LevelConfig) -> Path:
    """Write ``report.md``, its PNGs and ``metrics.json`` into ``out``; return the Markdown path."""
    out.mkdir(parents=True, exist_ok=True)
    everyone = [r, *others]
    _roc_pr(everyone, out)
    _calibration(r, out)
    imp = importance(r, holdout_rows)
    _importance_plot(imp, r, out)
    by_level = _levels_plot(r, levels, out)
    m = r.model.meta
    lines = [f"# Model report: {model_name} / {r.name}", "",
             f"- panel: `{m['panel_source']}` (fingerprint `{m['panel_fingerprint'][:12]}`), "
             f"code `{m['code_version']}`",
             f"- entity `{m['entity']}`, period `{m['period']}`, label `{m['label']}`; "
             f"{len(r.model.features)} features",
             f"- fit periods {m['fit_periods'][0]} .. {m['fit_periods'][-1]}; calibration ({m['calibration_method']}) "
             f"{', '.join(m['calibration_periods'])}; embargo {m['embargo']}; "
             f"out-of-time holdout {', '.join(m['holdout_periods'])}", "",
             "## Out-of-time holdout", "", "| metric | " + " | ".join(x.name for x in everyone) + " |",
             "|---|" + "---|" * len(everyone)]
    lines += [f"| {k} | " + " | ".join(_fmt(x.holdout.get(k)) for x in everyone) + " |" for k in METRIC_ROWS]
    lines += ["", "## Rolling-origin backtest (pooled out-of-time predictions)", "",
              "| metric | " + " | ".join(x.name for x in everyone) + " |", "|---|" + "---|" * len(everyone)]
    lines += [f"| {k} | " + " | ".join(_fmt(x.backtest.get(k, float('nan'))) for x in everyone) + " |"
              for k in METRIC_ROWS]
    lines += [f"| {k} | " + " | ".join(_fmt(x.lead.get(k)) for x in everyone) + " |"
              for k in ("episodes", "episodes_censored", "episodes_flagged", "share_flagged", "median_lead_periods")]
    lines += ["", "Lead time: periods from the first period an entity was in the top 10% of its period to the event "
              "(censored episodes give lower bounds).", "", "### Backtest folds", "",
              "| test period | roc_auc | pr_auc | brier | positives |", "|---|---|---|---|---|"]
    lines += [f"| {f['test_period']} | " + (f"skipped: {f['skipped']} | | |" if "skipped" in f else
              " | ".join(_fmt(f[k]) for k in ("roc_auc", "pr_auc", "brier", "positives")) + " |")
              for f in r.backtest_folds]
    lines += ["", "## Warning levels on the holdout", "", f"Cut-offs: {levels.describe()}", "",
              "| level | rows | events |", "|---|---|---|"]
    lines += [f"| {lv} | {int(row.rows)} | {int(row.events)} |" for lv, row in by_level.iterrows()]
    coefs = r.model.coefficients()
    lines += ["", "## Feature importance", "", "| feature | importance |" + (" coefficient |" if coefs else ""),
              "|---|---|" + ("---|" if coefs else "")]
    lines += [f"| {k} | {_fmt(v)} |" + (f" {_fmt(coefs[k])} |" if coefs else "")
              for k, v in sorted(imp.items(), key=lambda kv: -np.nan_to_num(kv[1], nan=-1))]
    lines += ["", "![ROC](roc.png) ![PR](pr.png)", "", "![calibration](calibration.png) "
              "![levels](score_by_level.png)", "", "![importance](importance.png)", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    (out / "metrics.json").write_text(json.dumps({
        "model": model_name, "candidate": r.name, "meta": m, "importance": imp,
        "others": {x.name: {"holdout": x.holdout, "backtest": x.backtest, "lead": x.lead} for x in others},
    }, indent=2, default=str))
    log.info("report written: %s", path)
    return path
