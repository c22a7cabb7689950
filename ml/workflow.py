"""The risk team's workflow on any panel: prepare it, train candidates, register them, choose the
challenger on the validation folds, promote it through the guardrails and the rule in ``ml.registry``.
Used by the CLI and the ``retrain_models`` DAG.

Identical retrains reuse their version: a version is tagged with ``train_key`` (the data fingerprint,
the training configuration and the candidate); training the same candidate on the same data with the
same configuration returns that version instead of piling up a new one.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from include.config import paths
from ml import derive, drift, fastreg, handling, metrics, registry, report
from ml.errors import CannotTrain, MLError
from ml.levels import LevelConfig
from ml.models import CANDIDATES, RULE, TrainingError
from ml.panel import Panel
from ml.promotion import promote  # noqa: F401 - the workflow's last step, light to import on its own
from ml.train import DEFAULT_CONFIG, Result, TrainConfig, evaluate_candidate, holdout_split

log = logging.getLogger(__name__)


def reports_root() -> Path:
    return paths().home / "ml_reports"


def _memo(panel: Panel) -> dict:
    """Results computed once per panel object and configuration (``score_risk`` trains every candidate on
    the one panel it read): deterministic functions of the panel's rows, so sharing them changes nothing."""
    return panel.__dict__.setdefault("_memo", {})


def prepared(panel: Panel, cfg: TrainConfig) -> Panel:
    """Derived features, then the data handling of ``ml.handling`` on the split's training periods."""
    if "nan_policy" in panel.handling:
        return panel
    memo = _memo(panel)
    if ("prepared", cfg) not in memo:
        p = derive.derive(panel, derive.parse(cfg.derive))
        memo["prepared", cfg] = handling.prepare(p, holdout_split(p, cfg).train, cfg.nan_policy, cfg.allow_leaky)
    return memo["prepared", cfg]


def baseline(panel: Panel, cfg: TrainConfig) -> Result:
    """The rule baseline's out-of-time results on a prepared panel (once per panel and configuration)."""
    memo = _memo(panel)
    if ("baseline", cfg) not in memo:
        memo["baseline", cfg] = evaluate_candidate(panel, "baseline", cfg)
    return memo["baseline", cfg]


def train_key(panel: Panel, cfg: TrainConfig, kind: str) -> str:
    return hashlib.sha256(f"{panel.fingerprint()}|{cfg.fingerprint(kind)}|{','.join(panel.spec.features)}"
                          .encode()).hexdigest()[:32]


def reused(panel: Panel, model_name: str, kind: str, cfg: TrainConfig) -> dict | None:
    """The registered version trained on the same (prepared) data and configuration, or None."""
    key = train_key(panel, cfg, kind)
    same = [v for v in fastreg.versions(model_name) if v.get("train_key") == key]
    if not same:
        return None
    v, m = fastreg.meta(model_name, same[-1]["version"])
    log.info("%s %s: same data and configuration as version %s, reused", model_name, kind, v["version"])
    return {"model_name": model_name, "candidate": kind, "version": v["version"], "reused": True,
            "report": v.get("report"), "split": m.get("split"), "holdout": m["holdout_metrics"],
            "backtest": m["backtest_metrics"], "lead": m["lead_time"], "guardrails": m.get("guardrails"),
            "seconds": 0.0}


def train_one(panel: Panel, model_name: str, kind: str, cfg: TrainConfig = DEFAULT_CONFIG,
              levels: LevelConfig | None = None, register: bool = True, others: list[Result] | None = None,
              out_root: Path | None = None, result: Result | None = None, written: Path | None = None) -> dict:
    """Train and evaluate one candidate, write its report (with ``others`` on the same plots), register it;
    or return the identical version already registered. ``result``: the candidate already evaluated on ``panel``;
    ``written``: and its report already written by ``write_report`` into that directory."""
    t = time.perf_counter()
    if kind not in CANDIDATES and kind != RULE:
        raise MLError(f"unknown candidate {kind!r}; candidates are {', '.join(CANDIDATES)}")
    panel = prepared(panel, cfg)
    key = train_key(panel, cfg, kind)
    if register and (same := reused(panel, model_name, kind, cfg)):
        return same
    if register:
        registry.warm_up()  # MLflow's store opens while the candidate fits
    res = result or evaluate_candidate(panel, kind, cfg)
    base = [baseline(panel, cfg)] if panel.spec.baseline else []
    out = written or write_report(panel, model_name, kind, cfg, res, levels, others, out_root)
    path = out / "report.md"
    model = res.model
    tags = {"train_key": key, "validation_pr_auc": f"{res.backtest.get('pr_auc', float('nan')):.6f}",
            "baseline_pr_auc": f"{base[0].holdout['pr_auc']:.6f}" if base else "",
            "holdout_periods": ",".join(model.meta["holdout_periods"]),
            "guardrails": "passed" if res.guardrails["passed"] else f"failed: {res.guardrails['failed']}"[:4000]}
    version = registry.register(model_name, model, out, tags) if register else None
    return metrics.jsonsafe({
        "model_name": model_name, "candidate": kind, "version": version, "reused": False, "report": str(path),
        "split": model.meta["split"], "holdout": res.holdout, "backtest": res.backtest, "lead": res.lead,
        "bootstrap": res.bootstrap, "guardrails": res.guardrails, "data_handling": panel.handling,
        "baseline": {"holdout": base[0].holdout, "backtest": base[0].backtest, "lead": base[0].lead}
        if base else None, "seconds": round(time.perf_counter() - t, 2)})


def write_report(panel: Panel, model_name: str, kind: str, cfg: TrainConfig, res: Result,
                 levels: LevelConfig | None = None, others: list[Result] | None = None,
                 out_root: Path | None = None) -> Path:
    """The evaluated candidate's last metadata (drift reference, baseline figures, data handling) on ``res.model``
    and its report (with ``others`` and the rule baseline on the same plots) in a new directory, returned.
    ``panel``: prepared (``prepared``)."""
    levels = levels or LevelConfig.parse()
    base = [baseline(panel, cfg)] if panel.spec.baseline else []
    model = res.model
    model.meta["psi_reference"] = drift.reference(panel.rows(model_periods(model)), model.features,
                                                  period=panel.spec.period,
                                                  seasonal=tuple(x.strip() for x in (cfg.seasonal or "").split(",")))
    # the calibrated rule is not promoted over the rule's own figures (it is the rule): judged against chance
    model.meta["baseline_holdout"] = base[0].holdout if base and kind != RULE else None
    if kind == RULE:
        model.meta["rule"] = panel.spec.baseline
    model.meta["nan_policy"] = panel.handling.get("nan_policy", {})
    model.meta["derive"] = cfg.derive
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    out = (out_root or reports_root()) / model_name / f"{stamp}-{kind}"
    report.write(out, model_name, res, [*(others or []), *base], panel.rows(_holdout(model)), levels)
    return out


def _holdout(model) -> list[pd.Timestamp]:
    return [pd.Timestamp(p) for p in model.meta["holdout_periods"]]


def model_periods(model) -> list[pd.Timestamp]:
    return [pd.Timestamp(p) for p in (*model.meta["fit_periods"], *model.meta["calibration_periods"])]


def _num(v) -> float:
    return -1.0 if v is None or v != v else float(v)


def choose_challenger(model_name: str, trained: list[dict]) -> str | None:
    """Point ``challenger`` at the candidate of this run with the best PR-AUC on the validation folds
    inside the training periods (not the holdout: choosing on it would flatter the winner)."""
    ok = [t for t in trained if t.get("version")]
    if not ok:
        return None
    best = max(ok, key=lambda t: (_num((t.get("backtest") or {}).get("pr_auc")), -_num(t["holdout"].get("brier"))))
    fastreg.set_alias(model_name, "challenger", best["version"])
    return best["version"]


def train(panel: Panel, model_name: str, candidates: tuple[str, ...] = tuple(CANDIDATES),
          cfg: TrainConfig = DEFAULT_CONFIG, levels: LevelConfig | None = None, register: bool = True) -> dict:
    t = time.perf_counter()
    unknown = [k for k in candidates if k not in CANDIDATES]
    if unknown or not candidates:
        raise MLError(f"unknown candidate(s) {unknown or '(none given)'}; candidates are {', '.join(CANDIDATES)}")
    panel = prepared(panel, cfg)
    split = holdout_split(panel, cfg)
    log.info("%s split: %s", model_name, split.describe())
    runs, failed, results = [], {}, {}
    for k in candidates:  # evaluate every candidate first: each report shows them all on the same plots
        if register and (same := reused(panel, model_name, k, cfg)):
            runs.append(same)
            continue
        try:
            results[k] = evaluate_candidate(panel, k, cfg, split)
        except TrainingError as e:
            failed[k] = str(e)
    for k, res in results.items():
        others = [x for n, x in results.items() if n != k]
        runs.append(train_one(panel, model_name, k, cfg, levels, register, others=others, result=res))
    if not runs:
        raise CannotTrain(f"{panel.source}: no candidate could be trained: "
                          + "; ".join(f"{k}: {v}" for k, v in failed.items()))
    challenger = choose_challenger(model_name, runs) if register else None
    return {"split": split.describe(), "runs": runs, "not_trained": failed, "challenger": challenger,
            "seconds": round(time.perf_counter() - t, 2)}
