"""Train and evaluate one candidate on a panel: validation folds inside training, one out-of-time holdout.

The split (``ml.splits.SplitPlan``) is explicit or the default; it is logged and stored with the
version. Rolling-origin backtests run on the training periods only: they are the validation folds on
which candidates are compared (``ml.workflow.choose_challenger``) and never include a holdout period.
The model that is registered is the one fitted for the holdout split (fit, calibration, holdout), so
the figures in its report are the figures of exactly that model; the holdout is scored once, for the
report and the guardrails (``ml.guardrails``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ml import guardrails, metrics, models
from ml.panel import ROW_HASH_KEY, Panel, content_columns, content_hash
from ml.splits import Split, SplitError, SplitPlan, rolling_origin

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    holdout_periods: int | None = None  # default: about a quarter of the labelled periods
    embargo: int = 0
    calibrate: str = "1"  # latest N training periods, FROM:UNTIL, or cv
    train_until: str | None = None
    holdout_from: str | None = None
    holdout_until: str | None = None
    min_train_periods: int = 3
    flag_share: float = 0.10  # "flagged" = top 10% of a period, for lead times
    nan_policy: str | None = None
    derive: str | None = None
    allow_leaky: bool = False
    seasonal: str | None = None  # year-to-date features, drift compared with the same quarter a year earlier
    max_fit_negatives: int | None = None  # fit on every positive and at most this many negatives (see sample_fit)

    @property
    def plan(self) -> SplitPlan:
        return SplitPlan(self.holdout_periods, self.train_until, self.calibrate, self.holdout_from,
                         self.holdout_until, self.embargo)

    def fingerprint(self, kind: str) -> str:
        return hashlib.sha256(json.dumps({**asdict(self), "candidate": kind}, sort_keys=True).encode()).hexdigest()


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
    bootstrap: dict = field(default_factory=dict)
    guardrails: dict = field(default_factory=dict)
    by_period: list[dict] = field(default_factory=list)


def code_version() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=5).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def holdout_split(panel: Panel, cfg: TrainConfig) -> Split:
    periods = panel.periods()
    try:
        return cfg.plan.resolve(periods)
    except SplitError as e:
        raise SplitError(f"{panel.source}: {e} ({len(periods)} labelled periods, embargo {cfg.embargo})") from None


def sample_fit(panel: Panel, rows: pd.DataFrame, max_negatives: int | None) -> pd.DataFrame:
    """Every positive row and at most ``max_negatives`` negative ones: the same rows whatever their order and
    whatever the installation (not a random draw).

    A negative is kept when a hash of its content (period, label, features: ``ml.panel.content_columns``) and
    of its occurrence among identical rows, under the code's fixed ``ROW_HASH_KEY``, falls under the share to
    keep. Not of the entity: account ids are tokens under each installation's own key, so a hash of them kept
    other negatives on another installation of the same world (issue #12). Identical rows are interchangeable,
    so which of them is the first occurrence does not matter.

    The candidates weight the classes to equal totals (``class_weight="balanced"``), so their objective is
    the mean loss over positives plus the mean loss over negatives: a uniform sample of the negatives
    estimates the second without bias and needs no weights of its own. Only the fit rows are sampled: the
    calibrator sees every row of its later periods (so probabilities are of the real prevalence), and the
    holdout, the validation folds and the guardrails are measured on every row."""
    return sample_negatives(rows, panel.spec.label, _sample_columns(panel, rows), max_negatives)


def _sample_columns(panel: Panel, rows: pd.DataFrame) -> list[str]:
    s = panel.spec
    return [c for c in content_columns(rows, s) if c in (s.period, s.label, *s.features)]


def fit_sample(panel: Panel, periods: list, max_negatives: int | None) -> pd.DataFrame:
    """``sample_fit(panel, panel.rows(periods), max_negatives)``, the same rows in the same order, without copying
    the rows left out: the content hashes of the labelled rows are computed once per panel
    (``Panel.labelled_content_hash``; a row's hash is of that row alone) and only the kept rows are taken. On the
    account panel a fit period range holds ~225k rows of which ~20k are kept, for each of the 16 fits of a
    candidate."""
    lab = panel.labelled
    s = panel.spec
    at = np.flatnonzero(lab[s.period].isin(periods).to_numpy())
    neg = lab[s.label].to_numpy()[at] == 0
    if not max_negatives or int(neg.sum()) <= max_negatives:
        return panel.rows(periods)
    content = panel.labelled_content_hash(tuple(_sample_columns(panel, lab)))[at]
    return lab.iloc[at[_kept(content, neg, max_negatives)]]


def _kept(content: np.ndarray, neg: np.ndarray, max_negatives: int) -> np.ndarray:
    """Which rows a sample keeps: every non-negative, and a negative when the hash of its content and occurrence
    among identical rows (in their order) falls under the share to keep."""
    occurrence = pd.Series(content).groupby(content, sort=False).cumcount().to_numpy()
    h = pd.util.hash_pandas_object(pd.DataFrame({"content": content, "occurrence": occurrence}), index=False,
                                   hash_key=ROW_HASH_KEY).to_numpy()
    return ~neg | (h < np.uint64(int(max_negatives / int(neg.sum()) * 2.0**64)))


def sample_negatives(rows: pd.DataFrame, label: str, cols: list[str], max_negatives: int | None) -> pd.DataFrame:
    """Every row whose ``label`` is not 0 and at most about ``max_negatives`` of the others, picked by a hash of
    their ``cols`` and occurrence among identical rows under the fixed ``ROW_HASH_KEY`` (see ``sample_fit``)."""
    neg = (rows[label] == 0).to_numpy()
    if not max_negatives or int(neg.sum()) <= max_negatives:
        return rows
    return rows[_kept(content_hash(rows, cols), neg, max_negatives)]


def _fit(panel: Panel, kind: str, split: Split, max_negatives: int | None = None) -> models.TrainedModel:
    s = panel.spec
    features = [s.baseline] if kind == models.RULE else list(s.features)  # the calibrated rule reads its column only
    if split.calibrate_cv:  # the calibrator is cross-fitted on these rows: they stay whole
        f = panel.rows(split.fit)
        return models.fit(kind, features, f, f[s.label], None, None, cv_groups=f[s.period])
    f = fit_sample(panel, split.fit, max_negatives)
    c = panel.rows(split.calibrate)
    return models.fit(kind, features, f, f[s.label], c, c[s.label])


def _pred(panel: Panel, rows: pd.DataFrame, score) -> pd.DataFrame:
    s = panel.spec
    return pd.DataFrame({"entity": rows[s.entity].to_numpy(), "period": rows[s.period].to_numpy(),
                         "label": rows[s.label].to_numpy(), "score": score})


def baseline_score(panel: Panel, rows: pd.DataFrame):
    return rows[panel.spec.baseline].fillna(0).to_numpy()


def _scored(panel: Panel, kind: str, split: Split, max_negatives: int | None = None
            ) -> tuple[pd.DataFrame, models.TrainedModel | None]:
    rows = panel.rows(split.test)
    if kind == "baseline":
        return _pred(panel, rows, baseline_score(panel, rows)), None
    model = _fit(panel, kind, split, max_negatives)
    return _pred(panel, rows, model.predict_proba(rows)), model


def workers() -> int:
    """Fits run at once (``SUPERVISION_ML_WORKERS``, default: the machine's cores, at most 4)."""
    raw = os.environ.get("SUPERVISION_ML_WORKERS", "")
    return max(1, int(raw)) if raw.isdigit() else max(1, min(4, os.cpu_count() or 1))


def fits_in_parallel(fn, splits: list[Split]) -> list:
    """``fn(split)`` for every split, in their order; a TrainingError is returned in its place, not raised.

    The holdout fit and the validation folds are independent: they run in ``workers()`` threads (scikit-learn
    fits release the GIL), each with one OpenMP thread (``models.one_thread_each``), the largest first, so
    the results are the same as one after the other, on any machine."""
    def run(sp):
        try:
            return fn(sp)
        except models.TrainingError as e:
            return e, None

    n = min(workers(), len(splits))
    if n <= 1:
        return [run(sp) for sp in splits]
    order = sorted(range(len(splits)), key=lambda i: -len(splits[i].fit) - len(splits[i].calibrate))
    out: list = [None] * len(splits)
    with models.one_thread_each(), ThreadPoolExecutor(n, thread_name_prefix="ml-fit") as pool:
        for i, r in zip(order, pool.map(run, [splits[i] for i in order]), strict=True):
            out[i] = r
    return out


def evaluate_candidate(panel: Panel, kind: str, cfg: TrainConfig = DEFAULT_CONFIG, split: Split | None = None
                       ) -> Result:
    """``kind`` is a model in ``models.CANDIDATES``, ``"baseline"`` (the panel's rule score column, as is) or
    ``models.RULE`` (that column calibrated into probabilities: judged against chance, not against itself)."""
    if kind in ("baseline", models.RULE) and not panel.spec.baseline:
        raise SplitError("this panel has no baseline column")
    is_prob = kind != "baseline"
    split = split or holdout_split(panel, cfg)
    backtests = rolling_origin(split.train, cfg.min_train_periods, cfg.embargo,
                               "cv" if split.calibrate_cv else max(1, len(split.calibrate)))
    (hold, model), *fold_out = fits_in_parallel(lambda sp: _scored(panel, kind, sp, cfg.max_fit_negatives),
                                                 [split, *backtests])
    if isinstance(hold, models.TrainingError):
        raise hold
    folds, pooled = [], []
    for sp, (pred, _) in zip(backtests, fold_out, strict=True):
        if isinstance(pred, models.TrainingError):
            log.info("%s validation fold %s skipped: %s", kind, sp.test[0].date(), pred)
            folds.append({"test_period": str(sp.test[0].date()), "skipped": str(pred)})
            continue
        pooled.append(pred)
        folds.append({"test_period": str(sp.test[0].date()), **metrics.evaluate(pred["label"], pred["score"], is_prob)})
    allp = pd.concat(pooled) if pooled else hold.iloc[0:0]
    backtest = metrics.evaluate(allp["label"], allp["score"], is_prob) if pooled else {}
    lead = metrics.lead_times(pd.concat([allp, hold]), "entity", "period", "label", "score", panel.periods(),
                              cfg.flag_share)
    res = Result(kind, metrics.evaluate(hold["label"], hold["score"], is_prob), backtest, lead, hold, folds, model,
                 by_period=metrics.top_k_by_period(hold))
    if model is not None:
        rows = panel.rows(split.test)
        base = baseline_score(panel, rows) if panel.spec.baseline else None
        res.bootstrap = guardrails.bootstrap(hold["label"], hold["score"], base)
        lab = panel.labelled  # counted, not copied
        in_fit = lab[panel.spec.period].isin(split.fit).to_numpy()
        n_fit, fit_pos = int(in_fit.sum()), int(lab[panel.spec.label].to_numpy()[in_fit].sum())
        fitted = n_fit if split.calibrate_cv else len(fit_sample(panel, split.fit, cfg.max_fit_negatives))
        res.guardrails = guardrails.check(fit_pos, res.holdout, res.bootstrap, base is not None and kind != models.RULE)
        model.meta.update({
            "entity": panel.spec.entity, "period": panel.spec.period, "label": panel.spec.label,
            **split.as_meta(), "split": split.describe(), "embargo": cfg.embargo,
            "calibration_method": model.calibration_method, "train_config": asdict(cfg),
            "panel_source": panel.source, "panel_fingerprint": panel.fingerprint(),
            "holdout_fingerprint": holdout_fingerprint(panel, split.test), "code_version": code_version(),
            "holdout_metrics": res.holdout, "backtest_metrics": backtest, "lead_time": lead,
            "bootstrap": res.bootstrap, "guardrails": res.guardrails, "data_handling": panel.handling,
            "fit_rows": {"rows": n_fit, "fitted_on": fitted, "positives": fit_pos,
                         "max_negatives": cfg.max_fit_negatives},
        })
        log.info("%s split %s; validation pr_auc=%s; holdout pr_auc=%.3f roc_auc=%.3f; guardrails %s", kind,
                 split.describe(), backtest.get("pr_auc"), res.holdout["pr_auc"], res.holdout["roc_auc"],
                 "passed" if res.guardrails["passed"] else "FAILED: " + res.guardrails["failed"])
    return res


def holdout_fingerprint(panel: Panel, periods: list) -> str:
    return Panel(panel.rows(periods), panel.spec, panel.source).fingerprint()
