"""Train and evaluate one candidate on a panel: out-of-time holdout plus rolling-origin backtests.

The model that is registered is the one fitted for the holdout split (fit periods, then calibration
periods, then the held-out latest periods), so the figures in its report are the figures of exactly
that model. Backtests refit the same recipe for every earlier origin; their pooled out-of-time
predictions give the lead times.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ml import metrics, models
from ml.panel import Panel
from ml.splits import Split, SplitError, default_holdout, out_of_time, rolling_origin

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    holdout_periods: int | None = None  # default: about a quarter of the labelled periods
    embargo: int = 0
    calibration_periods: int = 1
    min_train_periods: int = 3
    flag_share: float = 0.10  # "flagged" = top 10% of a period, for lead times


DEFAULT_CONFIG = TrainConfig()


@dataclass
class Result:
    """Out-of-time results of one scorer (a candidate model or the rule baseline)."""

    name: str
    holdout: dict
    backtest: dict
    lead: dict
    holdout_pred: pd.DataFrame
    backtest_folds: list[dict] = field(default_factory=list)
    model: models.TrainedModel | None = None


def code_version() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=5).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def holdout_split(panel: Panel, cfg: TrainConfig) -> Split:
    periods = panel.periods()
    h = cfg.holdout_periods or default_holdout(len(periods))
    try:
        return out_of_time(periods, h, cfg.embargo, cfg.calibration_periods)
    except SplitError as e:
        raise SplitError(f"{panel.source}: {e} ({len(periods)} labelled periods, holdout {h}, "
                         f"embargo {cfg.embargo})") from None


def _fit(panel: Panel, kind: str, split: Split) -> models.TrainedModel:
    s = panel.spec
    f, c = panel.rows(split.fit), panel.rows(split.calibrate)
    return models.fit(kind, list(s.features), f, f[s.label], c, c[s.label])


def _pred(panel: Panel, rows: pd.DataFrame, score) -> pd.DataFrame:
    s = panel.spec
    return pd.DataFrame({"entity": rows[s.entity].to_numpy(), "period": rows[s.period].to_numpy(),
                         "label": rows[s.label].to_numpy(), "score": score})


def _scored(panel: Panel, kind: str, split: Split) -> tuple[pd.DataFrame, models.TrainedModel | None]:
    rows = panel.rows(split.test)
    if kind == "baseline":
        return _pred(panel, rows, rows[panel.spec.baseline].fillna(0).to_numpy()), None
    model = _fit(panel, kind, split)
    return _pred(panel, rows, model.predict_proba(rows)), model


def evaluate_candidate(panel: Panel, kind: str, cfg: TrainConfig = DEFAULT_CONFIG) -> Result:
    """``kind`` is a model in ``models.CANDIDATES`` or ``"baseline"`` (the panel's rule score column)."""
    if kind == "baseline" and not panel.spec.baseline:
        raise ValueError("this panel has no baseline column")
    is_prob = kind != "baseline"
    split = holdout_split(panel, cfg)
    hold, model = _scored(panel, kind, split)
    folds, pooled = [], []
    for sp in rolling_origin(panel.periods(), cfg.min_train_periods, cfg.embargo, cfg.calibration_periods):
        try:
            pred, _ = _scored(panel, kind, sp)
        except models.TrainingError as e:
            log.warning("%s backtest origin %s skipped: %s", kind, sp.test[0].date(), e)
            folds.append({"test_period": str(sp.test[0].date()), "skipped": str(e)})
            continue
        pooled.append(pred)
        folds.append({"test_period": str(sp.test[0].date()), **metrics.evaluate(pred["label"], pred["score"], is_prob)})
    allp = pd.concat(pooled) if pooled else hold
    backtest = metrics.evaluate(allp["label"], allp["score"], is_prob) if pooled else {}
    lead = metrics.lead_times(allp, "entity", "period", "label", "score", panel.periods(), cfg.flag_share)
    res = Result(kind, metrics.evaluate(hold["label"], hold["score"], is_prob), backtest, lead, hold, folds, model)
    if model is not None:
        model.meta.update({
            "entity": panel.spec.entity, "period": panel.spec.period, "label": panel.spec.label,
            "fit_periods": [str(p.date()) for p in split.fit],
            "calibration_periods": [str(p.date()) for p in split.calibrate],
            "holdout_periods": [str(p.date()) for p in split.test],
            "embargo": cfg.embargo, "calibration_method": model.calibration_method,
            "panel_source": panel.source, "panel_fingerprint": panel.fingerprint(),
            "holdout_fingerprint": holdout_fingerprint(panel, split.test), "code_version": code_version(),
            "holdout_metrics": res.holdout, "backtest_metrics": backtest, "lead_time": lead,
        })
    log.info("%s holdout: roc_auc=%.3f pr_auc=%.3f brier=%.4f; backtest roc_auc=%s; median lead %s periods", kind,
             res.holdout["roc_auc"], res.holdout["pr_auc"], res.holdout["brier"], backtest.get("roc_auc"),
             lead["median_lead_periods"])
    return res


def holdout_fingerprint(panel: Panel, periods: list) -> str:
    return Panel(panel.rows(periods), panel.spec, panel.source).fingerprint()
