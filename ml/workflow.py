"""The risk team's workflow on any panel: train candidates, register them, choose the challenger,
promote it by the rule in ``ml.registry``. Used by the CLI and the ``retrain_models`` DAG."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from include.config import paths
from ml import drift, metrics, registry, report
from ml.levels import LevelConfig
from ml.models import CANDIDATES
from ml.panel import Panel
from ml.train import DEFAULT_CONFIG, Result, TrainConfig, evaluate_candidate, holdout_fingerprint

log = logging.getLogger(__name__)


def reports_root() -> Path:
    return paths().home / "ml_reports"


def train_one(panel: Panel, model_name: str, kind: str, cfg: TrainConfig = DEFAULT_CONFIG,
              levels: LevelConfig | None = None, register: bool = True, others: list[Result] | None = None,
              out_root: Path | None = None) -> dict:
    """Train and evaluate one candidate, write its report, register it. Returns a summary."""
    t = time.perf_counter()
    levels = levels or LevelConfig.parse()
    res = evaluate_candidate(panel, kind, cfg)
    base = [evaluate_candidate(panel, "baseline", cfg)] if panel.spec.baseline else []
    model = res.model
    model.meta["psi_reference"] = drift.reference(panel.rows(model_periods(model)), model.features)
    model.meta["baseline_holdout"] = base[0].holdout if base else None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    out = (out_root or reports_root()) / model_name / f"{stamp}-{kind}"
    path = report.write(out, model_name, res, [*(others or []), *base], panel.rows(_holdout(model)), levels)
    version = registry.register(model_name, model, out) if register else None
    return {"model_name": model_name, "candidate": kind, "version": version, "report": str(path),
            "holdout": res.holdout, "backtest": res.backtest, "lead": res.lead,
            "baseline": {"holdout": base[0].holdout, "backtest": base[0].backtest, "lead": base[0].lead}
            if base else None, "seconds": round(time.perf_counter() - t, 2)}


def _holdout(model) -> list[pd.Timestamp]:
    return [pd.Timestamp(p) for p in model.meta["holdout_periods"]]


def model_periods(model) -> list[pd.Timestamp]:
    return [pd.Timestamp(p) for p in (*model.meta["fit_periods"], *model.meta["calibration_periods"])]


def choose_challenger(model_name: str, trained: list[dict]) -> str | None:
    """Point ``challenger`` at the candidate of this run with the best holdout PR-AUC."""
    ok = [t for t in trained if t.get("version")]
    if not ok:
        return None
    best = max(ok, key=lambda t: (t["holdout"]["pr_auc"], -t["holdout"]["brier"]))
    registry.set_alias(model_name, "challenger", best["version"])
    return best["version"]


def train(panel: Panel, model_name: str, candidates: tuple[str, ...] = tuple(CANDIDATES),
          cfg: TrainConfig = DEFAULT_CONFIG, levels: LevelConfig | None = None, register: bool = True) -> dict:
    t = time.perf_counter()
    runs = [train_one(panel, model_name, k, cfg, levels, register) for k in candidates]
    challenger = choose_challenger(model_name, runs) if register else None
    return {"runs": runs, "challenger": challenger, "seconds": round(time.perf_counter() - t, 2)}


def promote(panel: Panel, model_name: str, version: str | None = None) -> registry.Decision:
    """Apply the promotion rule to the challenger (or ``version``) on its out-of-time holdout."""
    version = version or registry.alias_version(model_name, "challenger")
    if version is None:
        raise ValueError(f"{model_name}: no challenger to promote; train first")
    ch, _ = registry.load(model_name, version)
    holdout = _holdout(ch)
    rows = panel.rows(holdout)
    y = rows[panel.spec.label]
    ch_m = metrics.evaluate(y, ch.predict_proba(rows))
    base = (metrics.evaluate(y, rows[panel.spec.baseline].fillna(0), probability=False)["pr_auc"]
            if panel.spec.baseline else None)
    champ_version = registry.alias_version(model_name, "champion")
    if champ_version == version:
        return registry.Decision(False, f"version {version} is already the champion", ch_m, ch_m)
    if champ_version is None:
        d = registry.decide(ch_m, None, base)
    else:
        cp, _ = registry.load(model_name, champ_version)
        missing = [f for f in cp.features if f not in rows.columns]
        if missing:
            d = registry.Decision(False, f"champion v{champ_version} needs features {missing} the panel lacks: "
                                         "not comparable, champion kept", ch_m, None)
        elif max(model_periods(cp)) < min(holdout):
            d = registry.decide(ch_m, metrics.evaluate(y, cp.predict_proba(rows)))
        elif cp.meta.get("holdout_fingerprint") == holdout_fingerprint(panel, holdout):
            d = registry.decide(ch_m, cp.meta["holdout_metrics"])
        else:
            d = registry.Decision(False, f"champion v{champ_version} was trained on periods of this holdout and its "
                                         "own holdout differs: not comparable, champion kept", ch_m, None)
    log.info("%s v%s vs champion v%s: %s (%s)", model_name, version, champ_version,
             "PROMOTE" if d.promote else "keep champion", d.reason)
    if d.promote:
        registry.set_alias(model_name, "champion", version)
    registry.client().set_model_version_tag(model_name, version, "promotion_decision",
                                            f"{'promoted' if d.promote else 'not promoted'}: {d.reason}")
    return d
