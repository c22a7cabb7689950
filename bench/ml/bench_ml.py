"""Benchmark and figures of the early-warning models on the simulated universe in $SUPERVISION_HOME.

Needs a warehouse that has run the pipeline (``supervision demo --preset small``). Measures,
for one preset (``--preset institution`` or ``firm``, see ``ml/presets.py``), in one run:

* the out-of-time figures of both candidates vs the preset's rule baseline (institution: breach count;
  firm: red-flag count), with no embargo and with an embargo of h - 1 periods for a label that looks h
  periods ahead (institution: 3 quarters; firm: 5 months), so that no training row shares a label
  window with a test row;
* the time of a full retrain (both candidates: holdout fit, rolling-origin backtests, reports,
  registration) and its ratio to one bare fit of the same candidates;
* scoring throughput (entities/s) of the full scoring path (probability, levels, overrides, reasons,
  drift, write) against bare ``predict_proba`` on the same rows, on the latest period and on the panel
  replicated to ``--rows`` rows.

    python bench/ml/bench_ml.py [--preset institution|firm] [--rows 100000] [--out bench/ml/results.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import pandas as pd

from include.warehouse.connection import role_url
from ml import models, scoring, workflow
from ml.levels import LevelConfig, apply_overrides, assign
from ml.metrics import top_k
from ml.panel import load
from ml.presets import PRESETS
from ml.train import TrainConfig, evaluate_candidate, holdout_split

KEYS = ("roc_auc", "pr_auc", "brier", "precision_top5", "recall_top5", "precision_top10", "recall_top10",
        "positives", "n")
LEAD = ("episodes", "episodes_flagged", "share_flagged", "median_lead_periods")


def figures(panel, embargo: int, flag_share: float = 0.10) -> dict:
    """Holdout and backtest metrics of the baseline and both candidates. Also precision/recall in the top
    1% of the holdout (for rare labels: the firm panel's prevalence is ~0.2%, so the top 5% holds every
    positive many times over); lead times flag the top ``flag_share`` of each period."""
    cfg = TrainConfig(embargo=embargo, flag_share=flag_share)
    out = {}
    for kind in ("baseline", "logreg", "gbm"):
        r = evaluate_candidate(panel, kind, cfg)
        hp = r.holdout_pred
        p1, r1 = top_k(hp["label"].to_numpy(dtype=float), hp["score"].to_numpy(dtype=float), 0.01)
        out[kind] = {"holdout": {**{k: r.holdout.get(k) for k in KEYS}, "precision_top1": p1, "recall_top1": r1},
                     "backtest": {k: r.backtest.get(k) for k in KEYS},
                     "lead": {k: r.lead.get(k) for k in LEAD}, "flag_share": flag_share}
    out["split"] = {k: [str(p.date()) for p in v] for k, v in vars(holdout_split(panel, cfg)).items()}
    return out


# label look-ahead h (periods) - 1: the embargo that removes the overlap of label windows
PURGE_EMBARGO = {"institution": 3, "firm": 5}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="institution", choices=sorted(PRESETS))
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    preset = PRESETS[args.preset]
    url = role_url("scorer")
    t = time.perf_counter()
    panel = load(preset.source, preset.spec, url)
    res: dict = {"preset": args.preset, "load_panel_seconds": round(time.perf_counter() - t, 2), "panel": {
        "rows": len(panel.frame), "labelled": len(panel.labelled), "positives": int(panel.labelled[
            preset.spec.label].sum()), "entities": int(panel.frame[preset.spec.entity].nunique()),
        "features": len(preset.spec.features), "periods": [str(p.date()) for p in panel.periods(labelled_only=False)]}}
    t = time.perf_counter()
    res["embargo_0"] = figures(panel, 0)
    res["embargo_0"]["seconds"] = round(time.perf_counter() - t, 1)
    if args.preset == "firm":  # top 10% of ~4,600 firms a month flags every episode at once: use 1%
        res["embargo_0_flag_top1"] = figures(panel, 0, flag_share=0.01)
    purge = PURGE_EMBARGO.get(args.preset)
    if purge:
        try:
            res[f"embargo_{purge}"] = figures(panel, purge)
        except Exception as e:  # too little history for a purged split: say so, keep the rest
            res[f"embargo_{purge}"] = {"error": str(e)}

    split = holdout_split(panel, TrainConfig())
    t = time.perf_counter()
    for kind in models.CANDIDATES:
        f, c = panel.rows(split.fit), panel.rows(split.calibrate)
        models.fit(kind, list(preset.spec.features), f, f[preset.spec.label], c, c[preset.spec.label])
    bare_fit = time.perf_counter() - t
    t = time.perf_counter()
    trained = workflow.train(panel, preset.model_name)
    retrain = time.perf_counter() - t
    decision = workflow.promote(panel, preset.model_name, trained["challenger"])
    res["retrain"] = {"seconds": round(retrain, 2), "bare_fit_seconds": round(bare_fit, 3),
                      "ratio_to_bare_fit": round(retrain / bare_fit, 1), "challenger": trained["challenger"],
                      "promoted": decision.promote, "reason": decision.reason}

    from ml import registry

    # the champion scores; if the promotion rule kept none (e.g. no candidate beat the baseline), the
    # challenger is timed instead and the output says so
    ref = "champion" if registry.alias_version(preset.model_name, "champion") else trained["challenger"]
    scored = scoring.score(panel, preset.model_name, preset.entity_type, url, texts=preset.texts, ref=ref)
    model, _ = registry.load(preset.model_name, ref)
    latest = panel.frame[panel.frame[preset.spec.period] == max(panel.periods(labelled_only=False))]
    big = pd.concat([panel.frame] * (args.rows // len(panel.frame) + 1), ignore_index=True).iloc[: args.rows]
    t = time.perf_counter()
    model.predict_proba(big)
    bare = time.perf_counter() - t
    t = time.perf_counter()
    cfg = LevelConfig.parse()
    prob = model.predict_proba(big)
    lv, _ = apply_overrides(big, assign(prob, cfg), cfg)
    scoring.reasons(model.contributions(big), big, preset.texts)
    full = time.perf_counter() - t
    res["scoring"] = {"latest_period": scored, "latest_entities": len(latest),
                      "replicated_rows": len(big), "bare_predict_rows_per_s": round(len(big) / bare),
                      "full_path_rows_per_s": round(len(big) / full), "ratio_full_to_bare": round(full / bare, 1),
                      "scored_with": ref, "model_kind": model.kind}
    Path(args.out).write_text(json.dumps(res, indent=2, default=str))
    print(json.dumps(res, indent=2, default=str))


if __name__ == "__main__":
    main()
