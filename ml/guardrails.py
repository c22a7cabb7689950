"""Guardrails a model passes before it may reach supervisors, with bootstrap intervals.

* ``min_fit_positives`` / ``min_holdout_positives``: enough events to learn from and to judge by
  (``MIN_FIT_POSITIVES``, ``MIN_HOLDOUT_POSITIVES``); below them the panel gets no model and its
  portraits say "no model: too few cases".
* ``beats_chance`` / ``beats_baseline``: on the holdout, the PR-AUC difference to chance (the
  prevalence) and to the rule baseline, with a paired, class-stratified bootstrap 95% interval
  (``BOOTSTRAP`` resamples of the holdout rows) whose lower end must be above zero.
* ``calibrated``: expected calibration error (log-spaced bins) at most ``ECE_MAX`` and mean predicted
  over observed rate within ``RATIO_BOUNDS``.
"""

from __future__ import annotations

import numpy as np

MIN_FIT_POSITIVES = 10
MIN_HOLDOUT_POSITIVES = 5
BOOTSTRAP = 400
ECE_MAX = 0.05
RATIO_BOUNDS = (1 / 3, 3.0)
SEED = 20260


def _ap_parts(y: np.ndarray, score: np.ndarray):
    order = np.argsort(-score, kind="mergesort")
    s = score[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # the last row of each tied score
    return order, last


def _ap(yo: np.ndarray, w: np.ndarray, last: np.ndarray) -> float:
    tp = np.cumsum(w * yo)[last]
    fp = np.cumsum(w * (1 - yo))[last]
    if tp[-1] <= 0:
        return float("nan")
    prec, rec = tp / np.maximum(tp + fp, 1e-300), tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, rec]) * prec))


def bootstrap(y, model_score, base_score=None, n: int = BOOTSTRAP, seed: int = SEED) -> dict:
    """PR-AUC of the model with its interval, and differences to chance and to the baseline."""
    y = np.asarray(y, dtype=float)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if len(pos) == 0 or len(neg) == 0:
        return {}
    rng = np.random.default_rng(seed)
    scores = {"model": np.asarray(model_score, dtype=float)}
    if base_score is not None:
        scores["baseline"] = np.nan_to_num(np.asarray(base_score, dtype=float))
    parts = {k: _ap_parts(y, v) for k, v in scores.items()}
    y_in = {k: y[order] for k, (order, _) in parts.items()}  # the labels in each score's order, once
    draws = {k: [] for k in scores}
    chance = []
    for _ in range(n):
        w = np.bincount(np.r_[rng.choice(pos, len(pos)), rng.choice(neg, len(neg))], minlength=len(y)).astype(float)
        for k, (order, last) in parts.items():
            draws[k].append(_ap(y_in[k], w[order], last))
        chance.append(float((w * y).sum() / w.sum()))
    ones = np.ones(len(y))
    point = {k: _ap(y[o], ones[o], last) for k, (o, last) in parts.items()}
    m, c = np.array(draws["model"]), np.array(chance)

    def ci(a):
        return [float(np.nanpercentile(a, 2.5)), float(np.nanpercentile(a, 97.5))]

    out = {"resamples": n, "pr_auc": point["model"], "pr_auc_ci": ci(m), "vs_chance": point["model"] - float(y.mean()),
           "vs_chance_ci": ci(m - c)}
    if "baseline" in draws:
        b = np.array(draws["baseline"])
        out.update({"baseline_pr_auc": point["baseline"], "baseline_pr_auc_ci": ci(b),
                    "vs_baseline": point["model"] - point["baseline"], "vs_baseline_ci": ci(m - b)})
    return out


def check(fit_positives: int, holdout: dict, boot: dict, has_baseline: bool) -> dict:
    """Verdicts: {"passed": bool, "rules": [{"rule", "passed", "detail"}], "short": one line}."""
    rules = []

    def add(rule, ok, detail):
        rules.append({"rule": rule, "passed": bool(ok), "detail": detail})

    add("min_fit_positives", fit_positives >= MIN_FIT_POSITIVES,
        f"{fit_positives} events in the fit periods (need {MIN_FIT_POSITIVES})")
    hp = int(holdout.get("positives", 0))
    add("min_holdout_positives", hp >= MIN_HOLDOUT_POSITIVES,
        f"{hp} events in the holdout (need {MIN_HOLDOUT_POSITIVES})")
    if boot:
        lo, hi = boot["vs_chance_ci"]
        add("beats_chance", lo > 0, f"PR-AUC {boot['pr_auc']:.3f} vs chance {holdout['prevalence']:.3f}: "
                                    f"difference {boot['vs_chance']:+.3f} [{lo:+.3f}, {hi:+.3f}]")
        if has_baseline:
            lo, hi = boot["vs_baseline_ci"]
            add("beats_baseline", lo > 0, f"PR-AUC {boot['pr_auc']:.3f} vs rule baseline "
                                          f"{boot['baseline_pr_auc']:.3f}: difference {boot['vs_baseline']:+.3f} "
                                          f"[{lo:+.3f}, {hi:+.3f}]")
    else:
        add("beats_chance", False, "the holdout lacks one class: no ranking can be judged")
    e, r = holdout.get("ece"), holdout.get("predicted_over_observed")
    ok = e is not None and e == e and e <= ECE_MAX and r is not None and r == r and \
        RATIO_BOUNDS[0] <= r <= RATIO_BOUNDS[1]
    e_, r_ = (float("nan") if x is None else x for x in (e, r))
    add("calibrated", ok, f"ECE {e_:.4f} (max {ECE_MAX}), predicted/observed {r_:.2f} "
                          f"(within {RATIO_BOUNDS[0]:.2f}..{RATIO_BOUNDS[1]:.1f})")
    failed = [x for x in rules if not x["passed"]]
    too_few = any(x["rule"].startswith("min_") for x in failed)
    short = ("no model: too few cases" if too_few else
             "no model: does not beat the rule or chance" if failed and failed[0]["rule"].startswith("beats") else
             "no model: probabilities not calibrated" if failed else "passed")
    return {"passed": not failed, "rules": rules, "short": short,
            "failed": "; ".join(f"{x['rule']}: {x['detail']}" for x in failed)}
