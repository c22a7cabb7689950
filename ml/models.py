"""Candidate models: scikit-learn Pipelines, class-weighted, calibrated on a later time slice.

* ``logreg``: median imputation, standardisation, L2-regularised logistic regression with balanced
  class weights: a scorecard a supervisor can read (one coefficient per standardised feature).
* ``gbm``: HistGradientBoostingClassifier (shallow trees, L2, balanced class weights; missing values
  handled natively).

Class weights fix the imbalance while fitting, which inflates raw scores; the calibrator
(``CalibratedClassifierCV`` around the frozen fitted pipeline, on the *later* calibration periods
only) turns scores back into probabilities: isotonic when the calibration slice has at least
``ISOTONIC_MIN_POSITIVES`` positives, else Platt (sigmoid), which needs fewer.

Both start with ``ClipToTrainingRange``: every feature is clipped to its [0.5, 99.5] percentile range
on the training rows, at fit and at scoring time, so +-inf and extreme ratios (a denominator near zero)
count as the most extreme ordinary value, never as a typical one and never as a huge contribution.

With ``--calibrate cv`` there is no later calibration slice: the calibrator is cross-fitted inside the
fit periods (folds by period, ``CalibratedClassifierCV(cv=...)``), the base model refitted on them all.

Reasons (``contributions``) are in log-odds units: for ``logreg`` the coefficient times the
standardised value (exact for the linear score); for ``gbm`` an occlusion attribution: the change in
the model's log-odds when the feature is replaced by its training median (documented approximation:
interactions are not split between features).
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from ml.errors import CannotTrain

log = logging.getLogger(__name__)
ISOTONIC_MIN_POSITIVES = 30
_EPS = 1e-6
_LIMIT_LOCK = threading.Lock()
_LIMIT_USERS = 0
_LIMIT = None


@contextmanager
def one_thread_each():
    """One OpenMP/BLAS thread per fit or prediction while any thread of this process is inside.

    ``threadpool_limits`` is process-wide: with folds fitted in two Python threads (``ml.train``), one
    thread leaving its own ``threadpool_limits(1)`` would restore the default while the other still fits,
    and a gradient-boosting fit sums its gradients in a different order with another OpenMP thread
    count: not the same model. So the limit is set by the first thread in and lifted by the last out.
    (One thread per fit also avoids OpenMP contention: 10x slower on a busy machine.)"""
    global _LIMIT, _LIMIT_USERS
    with _LIMIT_LOCK:
        if _LIMIT_USERS == 0:
            _LIMIT = threadpool_limits(1)
        _LIMIT_USERS += 1
    try:
        yield
    finally:
        with _LIMIT_LOCK:
            _LIMIT_USERS -= 1
            if _LIMIT_USERS == 0:
                _LIMIT.restore_original_limits()
                _LIMIT = None


class ClipToTrainingRange(TransformerMixin, BaseEstimator):
    """Clip each column to its [LOW, HIGH] percentiles over the finite training values (see docstring)."""

    LOW, HIGH = 0.5, 99.5

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=float)
        lo, hi = np.zeros(X.shape[1]), np.zeros(X.shape[1])
        for j in range(X.shape[1]):
            v = X[:, j][np.isfinite(X[:, j])]
            if len(v):
                lo[j], hi[j] = np.percentile(v, [self.LOW, self.HIGH])
        self.low_, self.high_ = lo, hi
        return self

    def transform(self, X):
        X = np.array(X, dtype=float)
        return np.where(np.isnan(X), np.nan, np.clip(X, self.low_, self.high_))


def make_logreg() -> Pipeline:
    return Pipeline([
        ("clip", ClipToTrainingRange()),
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ("scale", StandardScaler()),
        ("model", LogisticRegression(C=0.3, class_weight="balanced", max_iter=5000)),
    ])


class EmptyColumnsToZero(TransformerMixin, BaseEstimator):
    """Fill the columns that were entirely missing at fit time with 0 (HistGradientBoosting keeps NaN as
    a value of its own but cannot bin a column with no value at all, e.g. a 1-quarter change in the
    first quarter). Other missing values stay missing."""

    def fit(self, X, y=None):
        self.empty_ = np.flatnonzero(np.isnan(np.asarray(X, dtype=float)).all(axis=0))
        return self

    def transform(self, X):
        X = np.array(X, dtype=float)
        X[:, self.empty_] = 0.0
        return X


def make_gbm() -> Pipeline:
    return Pipeline([
        ("clip", ClipToTrainingRange()),
        ("empty", EmptyColumnsToZero()),
        ("model", HistGradientBoostingClassifier(
            max_iter=150, learning_rate=0.05, max_depth=3, min_samples_leaf=10, l2_regularization=1.0,
            class_weight="balanced", random_state=0)),
    ])


CANDIDATES = {"logreg": make_logreg, "gbm": make_gbm}


def make_rule() -> Pipeline:
    """The panel's rule score alone (its one column, missing as 0 as the baseline reads it) in a logistic
    regression: the rule's ranking, turned into probabilities by the same calibration as the candidates."""
    return Pipeline([
        ("impute", SimpleImputer(strategy="constant", fill_value=0.0, keep_empty_features=True)),
        ("model", LogisticRegression(class_weight="balanced", max_iter=5000)),
    ])


#: Not a candidate: the calibrated rule, fitted only when no candidate passes its guardrails (``ml.dag_tasks``),
#: so that supervisors get the rule's warnings, said as such, rather than none when the rule is the best scorer.
RULE = "rule"
FALLBACKS = {RULE: make_rule}


class TrainingError(CannotTrain):
    pass


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


@dataclass
class TrainedModel:
    """A fitted, calibrated candidate with what is needed to score and explain it."""

    kind: str
    features: list[str]
    base: Pipeline  # fitted on the fit periods (class-weighted scores)
    calibrated: CalibratedClassifierCV  # base frozen + calibrator on the calibration periods (or cross-fitted)
    calibration_method: str
    medians: dict[str, float]
    meta: dict = field(default_factory=dict)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        with one_thread_each():
            return self.calibrated.predict_proba(frame[self.features])[:, 1]

    def _base_logit(self, X: pd.DataFrame) -> np.ndarray:
        with one_thread_each():
            return _logit(self.base.predict_proba(X)[:, 1])

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per row and feature, the contribution to the model's log-odds (see module docstring)."""
        X = frame[self.features]
        if self.kind == "logreg":
            z = self.base[:-1].transform(X)
            coef = self.base[-1].coef_[0]
            return pd.DataFrame(z * coef, columns=self.features, index=frame.index)
        full = self._base_logit(X)
        out = np.empty((len(X), len(self.features)))
        for j, f in enumerate(self.features):
            Xj = X.copy()
            Xj[f] = self.medians[f]
            out[:, j] = full - self._base_logit(Xj)
        return pd.DataFrame(out, columns=self.features, index=frame.index)

    def importance(self) -> dict[str, float] | None:
        """Global importance where the model has one of its own (|standardised coefficient|)."""
        if self.kind == "logreg":
            return dict(zip(self.features, np.abs(self.base[-1].coef_[0]).round(6).tolist(), strict=True))
        return None

    def coefficients(self) -> dict[str, float] | None:
        if self.kind == "logreg":
            return dict(zip(self.features, self.base[-1].coef_[0].round(6).tolist(), strict=True))
        return None


def _check_classes(y: pd.Series, what: str) -> None:
    if y.nunique() < 2:
        only = f"{y.iloc[0]:g}" if len(y) else "(no rows)"
        raise TrainingError(f"the {what} periods hold only label {only} ({len(y)} rows); need both classes "
                            "(rule: both_classes_present)")


def _cv_folds(groups: pd.Series, y: pd.Series, k: int = 3) -> list[tuple]:
    """Folds by period (each period wholly in one fold), each fold's both sides holding both classes."""
    periods = sorted(groups.unique())
    folds = []
    for i in range(min(k, len(periods))):
        test = groups.isin(periods[i::min(k, len(periods))]).to_numpy()
        if y[test].nunique() == 2 and y[~test].nunique() == 2:
            folds.append((np.flatnonzero(~test), np.flatnonzero(test)))
    if len(folds) < 2:
        raise TrainingError("--calibrate cv: fewer than 2 period folds hold both classes on both sides "
                            "(rule: cv_folds_have_both_classes)")
    return folds


def fit(kind: str, features: list[str], X_fit: pd.DataFrame, y_fit: pd.Series, X_cal: pd.DataFrame | None,
        y_cal: pd.Series | None, cv_groups: pd.Series | None = None) -> TrainedModel:
    """Fit on the fit rows; calibrate on the later calibration rows, or cross-fitted (``X_cal`` None,
    folds from ``cv_groups``, the rows' periods)."""
    builders = {**CANDIDATES, **FALLBACKS}
    if kind not in builders:
        raise TrainingError(f"unknown candidate {kind!r}; candidates are {sorted(CANDIDATES)}")
    _check_classes(y_fit, "fit")
    if kind == "gbm" and len(y_fit) > 10_000 and int(y_fit.sum()) < 2:  # early stopping holds out a stratified 10%
        raise TrainingError(f"the fit periods hold 1 case in {len(y_fit)} rows; the boosting's early-stopping split "
                            "needs 2 (rule: both_classes_present)")
    if X_cal is not None:
        _check_classes(y_cal, "calibration")
    base = builders[kind]()
    with one_thread_each():  # small panels: OpenMP threads only contend (10x slower on a busy machine)
        base.fit(X_fit[features], y_fit.astype(int))
    if kind == RULE and not base[-1].coef_[0][0] > 0:
        raise TrainingError(f"the rule score {features[0]} does not rise with the event rate in the fit periods "
                            "(rule: rule_rises_with_risk)")
    if X_cal is None:
        y = y_fit.astype(int).reset_index(drop=True)
        method = "isotonic" if int(y.sum()) >= 2 * ISOTONIC_MIN_POSITIVES else "sigmoid"
        cal = CalibratedClassifierCV(builders[kind](), method=method,
                                     cv=_cv_folds(cv_groups.reset_index(drop=True), y))
        with one_thread_each():
            cal.fit(X_fit[features].reset_index(drop=True), y)
        method = f"{method}, cross-fitted"
        X_cal, y_cal = X_fit, y_fit
    else:
        method = "isotonic" if int(y_cal.sum()) >= ISOTONIC_MIN_POSITIVES else "sigmoid"
        cal = CalibratedClassifierCV(FrozenEstimator(base), method=method)
        with one_thread_each():
            cal.fit(X_cal[features], y_cal.astype(int))
    medians = X_fit[features].median().fillna(0.0).to_dict()
    log.info("fitted %s on %d rows (%d positive), calibrated (%s) on %d rows (%d positive)", kind, len(X_fit),
             int(y_fit.sum()), method, len(X_cal), int(y_cal.sum()))
    return TrainedModel(kind, list(features), base, cal, method, {k: float(v) for k, v in medians.items()})
