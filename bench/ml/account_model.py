"""The account model (#12) beyond tiny: out-of-time figures of the account panel
(``marts_features.account_month_training``) on the world in $SUPERVISION_HOME, for the rule baselines
and candidate models, with the guardrail verdict of each model.

    SUPERVISION_HOME=/tmp/fo-home PYTHONPATH=. python bench/ml/account_model.py --out res.json [--variants]

Reports the panel (rows, labelled rows, positives by where the label came from, holders with a case),
the default holdout split, and for each scorer on the holdout: ROC-AUC, PR-AUC, precision and recall in
the top 1% and 5%, and for models the bootstrap PR-AUC difference to the preset's baseline (flow_score)
and the guardrails (ml.guardrails). Scorers: ``flow_score`` (the queue's score, the preset's baseline),
``pr_payers`` (the plain rule: distinct payers, as a peer percentile), the two product candidates, and
with ``--variants`` the variants tried on the tuning seed (see VARIANTS). No backtest folds: the holdout
is the figure; ``python -m ml train`` computes the rest.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _hgb(**kw):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline

    from ml.models import ClipToTrainingRange, EmptyColumnsToZero

    args = {"max_iter": 150, "learning_rate": 0.05, "max_depth": 3, "min_samples_leaf": 10, "l2_regularization": 1.0,
            "class_weight": "balanced", "random_state": 0, **kw}
    return lambda: Pipeline([("clip", ClipToTrainingRange()), ("empty", EmptyColumnsToZero()),
                             ("model", HistGradientBoostingClassifier(**args))])


def _logreg(**kw):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from ml.models import ClipToTrainingRange

    args = {"C": 0.3, "class_weight": "balanced", "max_iter": 5000, **kw}
    return lambda: Pipeline([("clip", ClipToTrainingRange()), ("impute", SimpleImputer(strategy="median",
                             keep_empty_features=True)), ("scale", StandardScaler()),
                             ("model", LogisticRegression(**args))])


HISTORY = ["hist_flow_score_max_6m", "hist_months_scored_6m", "holder_flow_score_max"]


def add_history(frame: pd.DataFrame) -> pd.DataFrame:
    """Context features tried as a variant (computed here, not in the mart): the account's highest
    flow_score over the six months ending at t, how many of them it was scored in, and the highest
    flow_score of any account of the same holder in the month (a scheme firm's other accounts)."""
    f = frame.copy()
    f["_m"] = f["period"].dt.year * 12 + f["period"].dt.month
    wide = f.pivot_table(index="account_key", columns="_m", values="flow_score", aggfunc="max")
    months = sorted(wide.columns)
    full = wide.reindex(columns=range(min(months), max(months) + 1))
    roll_max = full.T.rolling(6, min_periods=1).max().T
    roll_n = full.notna().astype(float).T.rolling(6, min_periods=1).sum().T
    key = pd.MultiIndex.from_arrays([f["account_key"], f["_m"]])
    f["hist_flow_score_max_6m"] = roll_max.stack().reindex(key).to_numpy()
    f["hist_months_scored_6m"] = roll_n.stack().reindex(key).to_numpy()
    holder = f.dropna(subset=["holder_uscc"]).groupby(["holder_uscc", "_m"])["flow_score"].max()
    f["holder_flow_score_max"] = pd.MultiIndex.from_arrays([f["holder_uscc"], f["_m"]]).map(holder.to_dict().get)
    f["holder_flow_score_max"] = f["holder_flow_score_max"].astype(float).fillna(f["flow_score"])
    return f.drop(columns="_m")


def variants(features: list[str]) -> dict:
    """name -> (features, pipeline factory). Every feature of the panel is 'higher = more suspicious'
    (peer percentiles of the flow signals, typology scores), so a monotone GBM is a fair constraint."""
    plus = [*features, "flow_score"]
    return {
        "logreg_unweighted": (features, _logreg(class_weight=None)),
        "logreg+flow_score": (plus, _logreg()),
        "gbm_unweighted": (features, _hgb(class_weight=None)),
        "gbm_monotone": (features, _hgb(monotonic_cst=[1] * len(features))),
        "gbm_monotone_unweighted": (features, _hgb(monotonic_cst=[1] * len(features), class_weight=None)),
        "gbm+flow_score_monotone": (plus, _hgb(monotonic_cst=[1] * len(plus))),
        "gbm_monotone_leaf50": (features, _hgb(monotonic_cst=[1] * len(features), min_samples_leaf=50)),
        "gbm_monotone+history": ([*features, *HISTORY], _hgb(monotonic_cst=[1] * (len(features) + len(HISTORY)))),
        "logreg+history": ([*features, *HISTORY], _logreg()),
    }


def _top(y: np.ndarray, s: np.ndarray, share: float) -> tuple[float, float]:
    from ml.metrics import top_k

    return top_k(y, s, share)


def _figures(y: np.ndarray, s: np.ndarray, base: np.ndarray | None, fit_pos: int, is_prob: bool) -> dict:
    from ml import guardrails, metrics

    out = {k: v for k, v in metrics.evaluate(pd.Series(y), pd.Series(s), is_prob).items()
           if k in ("roc_auc", "pr_auc", "brier", "ece", "predicted_over_observed", "positives", "n", "prevalence")}
    for share in (0.01, 0.05):
        p, r = _top(y, s, share)
        out[f"precision_top{round(share * 100)}"], out[f"recall_top{round(share * 100)}"] = p, r
    if is_prob:
        boot = guardrails.bootstrap(y, s, base)
        ev = metrics.evaluate(pd.Series(y), pd.Series(s), True)
        verdict = guardrails.check(fit_pos, ev, boot, base is not None)
        out["vs_baseline"] = boot.get("vs_baseline")
        out["vs_baseline_ci"] = boot.get("vs_baseline_ci")
        out["guardrails"] = verdict["short"]
        out["failed"] = verdict["failed"]
    return out


def run(with_variants: bool) -> dict:
    from include.warehouse.connection import role_url
    from ml import models
    from ml.panel import load
    from ml.presets import ACCOUNT
    from ml.train import TrainConfig, holdout_split

    spec = ACCOUNT.spec
    t = time.perf_counter()
    # flow_score (the baseline) and the holder come along; both are columns of the mart
    panel = load(ACCOUNT.source, spec, role_url("scorer"))
    extra = _columns(["account_key", "period", "holder_uscc", "first_case_period", "first_confirmed_period"])
    frame = panel.frame.merge(extra, on=["account_key", "period"], how="left")
    if with_variants:
        frame = add_history(frame)
    panel.frame = frame
    lab = panel.labelled
    y_all = lab[spec.label]
    res: dict = {"load_seconds": round(time.perf_counter() - t, 1), "panel": {
        "rows": len(frame), "labelled": len(lab), "positives": int(y_all.sum()),
        "positives_from_cases": int((lab["first_case_period"].notna()).sum()),
        "positives_from_confirmed_alerts": int((lab["first_confirmed_period"].notna()).sum()),
        "positive_accounts": int(lab.loc[y_all == 1, "account_key"].nunique()),
        "positive_holders": int(lab.loc[y_all == 1, "holder_uscc"].nunique()),
        "accounts": int(frame["account_key"].nunique()),
        "periods": [str(p.date()) for p in panel.periods(labelled_only=False)]}}
    split = holdout_split(panel, TrainConfig())
    res["split"] = split.describe()
    fit, cal, hold = panel.rows(split.fit), panel.rows(split.calibrate), panel.rows(split.test)
    y = hold[spec.label].to_numpy(dtype=float)
    base = hold["flow_score"].fillna(0).to_numpy(dtype=float)
    fit_pos = int(fit[spec.label].sum())
    res["split_positives"] = {"fit": fit_pos, "calibrate": int(cal[spec.label].sum()), "holdout": int(y.sum()),
                              "holdout_positive_holders": int(hold.loc[hold[spec.label] == 1, "holder_uscc"].nunique())}
    res["scorers"] = {}
    for name, col in (("baseline flow_score", "flow_score"), ("plain rule pr_payers", "pr_payers")):
        res["scorers"][name] = _figures(y, hold[col].fillna(0).to_numpy(dtype=float), None, fit_pos, False)
    todo = {k: (list(spec.features), models.CANDIDATES[k]) for k in ("logreg", "gbm")}
    if with_variants:
        todo.update(variants(list(spec.features)))
    for name, (feats, factory) in todo.items():
        t = time.perf_counter()
        saved = dict(models.CANDIDATES)
        models.CANDIDATES["_bench"] = factory
        try:
            m = models.fit("_bench", feats, fit, fit[spec.label], cal, cal[spec.label])
        except models.TrainingError as e:
            res["scorers"][name] = {"error": str(e)}
            continue
        finally:
            models.CANDIDATES.clear()
            models.CANDIDATES.update(saved)
        s = m.predict_proba(hold)
        res["scorers"][name] = {**_figures(y, s, base, fit_pos, True), "calibration": m.calibration_method,
                                "seconds": round(time.perf_counter() - t, 1)}
        logging.getLogger(__name__).warning("%s: %s", name, {k: res["scorers"][name].get(k) for k in
                                                             ("roc_auc", "pr_auc", "recall_top1", "guardrails")})
    return res


def _columns(cols: list[str]) -> pd.DataFrame:
    import psycopg

    from include.warehouse.connection import libpq_url, role_url

    with psycopg.connect(libpq_url(role_url("scorer"))) as conn:
        cur = conn.execute(f"select {', '.join(cols)} from marts_features.account_month_training")
        f = pd.DataFrame(cur.fetchall(), columns=cols)
    f["period"] = pd.to_datetime(f["period"])
    return f


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--variants", action="store_true", help="also the variants tried on the tuning seed")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    res = run(args.variants)
    Path(args.out).write_text(json.dumps(res, indent=2, default=str))
    print(json.dumps(res, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
