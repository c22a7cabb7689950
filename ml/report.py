"""A model report a committee reads: one HTML page and the same in Markdown per version, with PNG plots
(``ml.plots``) and a JSON of every figure.

It holds the split (fit, calibration, holdout periods), the data handling counts, the guardrail
verdicts, the holdout metrics of every candidate and the rule baseline with bootstrap intervals,
reliability on log-spaced bins with Brier and ECE, top-1/5/10% recall pooled and per period, the
validation folds inside the training periods, and lead times (episodes of more than one period only).
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ml import plots
from ml.levels import LevelConfig
from ml.metrics import jsonsafe
from ml.train import Result

log = logging.getLogger(__name__)
METRIC_ROWS = ("roc_auc", "pr_auc", "brier", "ece", "predicted_over_observed", "recall_top1", "recall_top5",
               "recall_top10", "precision_top1", "precision_top5", "precision_top10", "n", "positives", "prevalence")


#: Non-case rows of the holdout the permutation importance uses at most (every case is used): the report's
#: feature ranking only; every metric, interval and guardrail is measured on every holdout row. On the firm
#: panel of small/7 (49 cases, 27,350 non-cases in the holdout) 5,000 instead of 20,000 took 7.0 s instead
#: of 24.4 s and ranked the 38 features alike (rank correlation 0.96, the same top three): bench/README.md.
IMPORTANCE_NEGATIVES = 5_000
IMPORTANCE_REPEATS = 5


def importance_rows(r: Result, panel_rows: pd.DataFrame) -> pd.DataFrame:
    """The holdout rows the permutation importance is measured on: every case and at most
    ``IMPORTANCE_NEGATIVES`` non-cases, a fixed sample by content (``ml.train.sample_negatives``)."""
    from ml.train import sample_negatives

    m = r.model.meta
    cols = [c for c in (m["period"], m["label"], *r.model.features) if c in panel_rows.columns]
    return sample_negatives(panel_rows, m["label"], cols, IMPORTANCE_NEGATIVES)


def importance(r: Result, panel_rows: pd.DataFrame) -> dict[str, float]:
    """|standardised coefficient| for logreg; permutation importance (PR-AUC drop) on the holdout otherwise
    (on ``importance_rows``: the account panel's holdout has ~80k rows, and each of 5 repeats x 20 features
    scores them all: half a minute on a busy machine for a ranking of features)."""
    own = r.model.importance()
    if own is not None:
        return own
    panel_rows = importance_rows(r, panel_rows)
    from joblib import parallel_backend
    from sklearn.inspection import permutation_importance

    from ml.models import one_thread_each
    from ml.train import workers

    y = panel_rows[r.model.meta["label"]].astype(int)
    if y.nunique() < 2:
        return {f: float("nan") for f in r.model.features}
    # one feature per thread (the permutations are drawn up front from random_state: the same on any machine)
    with one_thread_each(), parallel_backend("threading", n_jobs=workers()):
        pi = permutation_importance(r.model.calibrated, panel_rows[r.model.features], y,
                                    scoring="average_precision", n_repeats=IMPORTANCE_REPEATS, random_state=0,
                                    n_jobs=workers())
    return dict(zip(r.model.features, pi.importances_mean.round(6).tolist(), strict=True))


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "n/a" if not np.isfinite(v) else f"{v:.4f}"
    return "n/a" if v is None else str(v)


class _Doc:
    """Blocks rendered both as Markdown and as HTML."""

    def __init__(self):
        self.md: list[str] = []
        self.html: list[str] = []

    def h(self, level: int, text: str):
        self.md += [f"{'#' * level} {text}", ""]
        self.html.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def p(self, text: str):
        self.md += [text, ""]
        self.html.append(f"<p>{html.escape(text)}</p>")

    def ul(self, items: list[str]):
        self.md += [f"- {x}" for x in items] + [""]
        self.html.append("<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in items) + "</ul>")

    def table(self, head: list[str], rows: list[list]):
        self.md += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        self.md += ["| " + " | ".join(_fmt(x) for x in r) + " |" for r in rows] + [""]
        self.html.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>" + "".join(
            "<tr>" + "".join(f"<td>{html.escape(_fmt(x))}</td>" for x in r) + "</tr>" for r in rows) + "</table>")

    def img(self, files: list[str]):
        self.md += [" ".join(f"![{f[:-4]}]({f})" for f in files), ""]
        self.html.append("<p>" + "".join(f'<img src="{f}" alt="{f[:-4]}">' for f in files) + "</p>")


def _ci(b: dict, key: str) -> str:
    if not b or key not in b:
        return "n/a"
    lo, hi = b[f"{key}_ci"]
    return f"{b[key]:+.3f} [{lo:+.3f}, {hi:+.3f}]" if key.startswith("vs_") else f"{b[key]:.3f} [{lo:.3f}, {hi:.3f}]"


def write(out: Path, model_name: str, r: Result, others: list[Result], holdout_rows: pd.DataFrame,
          levels: LevelConfig) -> Path:
    """Write ``report.md``, ``report.html``, the PNGs and ``metrics.json`` into ``out``; return the Markdown path."""
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    everyone = [r, *others]
    plots.roc_pr(everyone, out)
    rel = plots.calibration(everyone, out)
    imp = importance(r, holdout_rows)
    plots.importance_plot(imp, r.name, out)
    by_level = plots.levels_plot(r, levels, out)
    m = r.model.meta
    g = r.guardrails
    d = _Doc()
    d.h(1, f"Model report: {model_name} / {r.name}")
    d.p(f"Verdict: {'passes the guardrails' if g.get('passed') else g.get('short', 'guardrails not run')}.")
    d.ul([f"panel {m['panel_source']} (fingerprint {m['panel_fingerprint'][:12]}), code {m['code_version']}",
          f"entity {m['entity']}, period {m['period']}, label {m['label']}; {len(r.model.features)} features",
          *(f"{k}: {v}" for k, v in m["split"].items()),
          f"calibration method {m['calibration_method']}; embargo {m['embargo']}"])
    d.h(2, "Guardrails")
    d.table(["rule", "verdict", "detail"], [[x["rule"], "pass" if x["passed"] else "FAIL", x["detail"]]
                                            for x in g.get("rules", [])])
    d.h(2, "Data handling")
    h = m.get("data_handling", {})
    d.ul([f"infinite values (clipped to the training percentile range): {h.get('infinite_values') or 'none'}",
          f"missing values per feature: {h.get('missing_values') or 'none'}",
          f"NaN policy: zero for {[f for f, p in h.get('nan_policy', {}).items() if p == 'zero'] or 'no feature'}, "
          "median (scorecard) / native (trees) for the others",
          f"features dropped: {h.get('dropped_features') or 'none'}",
          "single features allowed despite ranking the label almost perfectly: "
          f"{h.get('leaky_features_allowed') or 'none'}",
          f"derived features: {h.get('derived') or 'none'}"])
    d.h(2, "Out-of-time holdout (touched once)")
    d.table(["metric", *(x.name for x in everyone)],
            [[k, *(x.holdout.get(k) for x in everyone)] for k in METRIC_ROWS])
    b = r.bootstrap
    d.p(f"Bootstrap ({b.get('resamples', 0)} class-stratified resamples of the holdout rows), 95% intervals:")
    d.table(["figure", "value [95% interval]"],
            [["PR-AUC", _ci(b, "pr_auc")], ["PR-AUC minus chance", _ci(b, "vs_chance")],
             ["rule baseline PR-AUC", _ci(b, "baseline_pr_auc")],
             ["PR-AUC minus rule baseline", _ci(b, "vs_baseline")]])
    d.img(["roc.png", "pr.png"])
    d.h(3, "Reliability (log-spaced bins)")
    for name, bins in rel.items():
        d.table([f"{name}: bin", "rows", "mean predicted", "observed"],
                [[f"{x.low:.4f}-{x.high:.4f}", int(x.rows), x.predicted, x.observed] for x in bins.itertuples()])
    d.img(["calibration.png"])
    d.h(3, "Recall of the top 1/5/10% per period")
    d.table(["period", "rows", "events", "top 1%", "top 5%", "top 10%"],
            [[p["period"], p["rows"], p["positives"], p["recall_top1"], p["recall_top5"], p["recall_top10"]]
             for p in r.by_period])
    d.h(2, "Validation folds inside the training periods (rolling origin; the challenger is chosen here)")
    d.table(["metric", *(x.name for x in everyone)],
            [[k, *(x.backtest.get(k, float("nan")) for x in everyone)] for k in METRIC_ROWS[:8]])
    d.table(["test period", "roc_auc", "pr_auc", "brier", "positives"],
            [[f["test_period"], f"skipped: {f['skipped']}", "", "", ""] if "skipped" in f else
             [f["test_period"], f["roc_auc"], f["pr_auc"], f["brier"], f["positives"]] for f in r.backtest_folds])
    d.h(3, "Lead time")
    multi = r.lead.get("episodes_multi_period", 0)
    if multi:
        d.table(["figure", *(x.name for x in everyone)],
                [[k, *(x.lead.get(k) for x in everyone)] for k in
                 ("episodes", "episodes_multi_period", "episodes_censored", "episodes_flagged", "share_flagged",
                  "median_lead_periods", "mean_lead_periods")])
        d.p("Periods from the first period an entity was in the top 10% of its period to the event, over episodes "
            "of more than one period (censored episodes give lower bounds).")
    else:
        d.p(f"Not reported: each of the {r.lead.get('episodes', 0)} episodes has one period, so a lead time would be "
            "1 by construction.")
    d.h(2, "Warning levels on the holdout")
    d.p(f"Cut-offs: {levels.describe()}")
    d.table(["level", "rows", "events"], [[lv, int(row.rows), int(row.events)] for lv, row in by_level.iterrows()])
    d.img(["score_by_level.png"])
    coefs = r.model.coefficients()
    d.h(2, "Feature importance")
    if coefs is None and imp:
        used = importance_rows(r, holdout_rows)
        d.p(f"Permutation importance: mean drop of the holdout PR-AUC over {IMPORTANCE_REPEATS} shuffles of each "
            f"feature, on {len(used)} of the {len(holdout_rows)} holdout rows"
            + (f" (every case and a fixed sample of {IMPORTANCE_NEGATIVES} non-cases: a ranking of features, not "
               "a metric; the metrics above use every row)." if len(used) < len(holdout_rows) else "."))
    d.table(["feature", "importance", *(["coefficient"] if coefs else [])],
            [[k, v, *([coefs[k]] if coefs else [])]
             for k, v in sorted(imp.items(), key=lambda kv: -np.nan_to_num(kv[1], nan=-1))])
    d.img(["importance.png"])
    path = out / "report.md"
    path.write_text("\n".join(d.md))
    style = ("body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse;margin:.5em 0}"
             "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:first-child{text-align:left}"
             "img{max-width:48%}")
    title = html.escape(f"{model_name} / {r.name}")
    (out / "report.html").write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
                                     f"<style>{style}</style></head><body>{''.join(d.html)}</body></html>")
    (out / "metrics.json").write_text(json.dumps(jsonsafe({
        "model": model_name, "candidate": r.name, "meta": m, "importance": imp, "by_period": r.by_period,
        "reliability": {k: v.to_dict("records") for k, v in rel.items()},
        "others": {x.name: {"holdout": x.holdout, "backtest": x.backtest, "lead": x.lead} for x in others},
    }), indent=2, default=str))
    for f in out.iterdir():
        f.chmod(0o600)
    log.info("report written: %s", path)
    return path
