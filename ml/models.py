"""Candidate models: scikit-learn Pipelines, class-weighted, calibrated on a later time slice.

* ``logreg``: median imputation, standardisation, L2-regularised logistic regression with balanced
  class weights: a scorecard a supervisor can read (one coefficient per standardised feature).
* ``gbm``: HistGradientBoostingClassifier (shallow trees, L2, balanced class weights; missing values
  handled natively).

Class weights fix the imbalance while fitting, which inflates raw scores; the calibrator
(``CalibratedClassifierCV`` around the frozen fitted pipeline, on the *later* calibration periods
only) turns scores back into probabilities: isotonic when the calibration slice has at least
``ISOTONIC_MIN_POSITIVES`` positives, else Platt (sigmoid), which needs fewer.

Reasons (``contributions``) are in log-odds units: for ``logreg`` the coefficient times the
standardised value (exact for the linear score); for ``gbm`` an occlusion attribution: the change in
the model's log-odds when the feature is replaced by its training median (documented approximation:
interactions are not split between features).
"""

from __future__ import annotations

import logging
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

log = logging.getLogger(__name__)
ISOTONIC_MIN_POSITIVES = 30
_EPS = 1e-6


def make_logreg() -> Pipeline:
    return Pipeline([
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
        ("empty", EmptyColumnsToZero()),
        ("model", HistGradientBoostingClassifier(
            max_iter=150, learning_rate=0.05, max_depth=3, min_samples_leaf=10, l2_regularization=1.0,
            class_weight="balanced", random_state=0)),
    ])


CANDIDATES = {"logreg": make_logreg, "gbm": make_gbm}


class TrainingError(ValueError):
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
    calibrated: CalibratedClassifierCV  # base frozen + calibrator fitted on the calibration periods
    calibration_method: str
    medians: dict[str, float]
    meta: dict = field(default_factory=dict)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(1):
            return self.calibrated.predict_proba(frame[self.features])[:, 1]

    def _base_logit(self, X: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(1):
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
        raise TrainingError(f"the {what} periods hold only label {y.iloc[0] if len(y) else '(none)'}; "
                            "need both classes (rule: both_classes_present)")


def fit(kind: str, features: list[str], X_fit: pd.DataFrame, y_fit: pd.Series, X_cal: pd.DataFrame,
        y_cal: pd.Series) -> TrainedModel:
    if kind not in CANDIDATES:
        raise TrainingError(f"unknown candidate {kind!r}; candidates are {sorted(CANDIDATES)}")
    _check_classes(y_fit, "fit")
    _check_classes(y_cal, "calibration")
    base = CANDIDATES[kind]()
    with threadpool_limits(1):  # small panels: OpenMP threads only contend (10x slower on a busy machine)
        base.fit(X_fit[features], y_fit.astype(int))
    method = "isotonic" if int(y_cal.sum()) >= ISOTONIC_MIN_POSITIVES else "sigmoid"
    cal = CalibratedClassifierCV(FrozenEstimator(base), method=method)
    with threadpool_limits(1):
        cal.fit(X_cal[features], y_cal.astype(int))
    medians = X_fit[features].median().fillna(0.0).to_dict()
    log.info("fitted %s on %d rows (%d positive), calibrated (%s) on %d rows (%d positive)", kind, len(X_fit),
             int(y_fit.sum()), method, len(X_cal), int(y_cal.sum()))
    return TrainedModel(kind, list(features), base, cal, method, {k: float(v) for k, v in medians.items()})
