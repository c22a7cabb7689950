"""Explicit data handling before training, every decision counted in the model's report.

Rules (in this order, on the *training* periods only, so nothing is learnt from the holdout):

* ``inf_clipped``: +-inf are counted per feature (``Panel.handling``); the models clip every feature
  to its [0.5, 99.5] training percentile range (``ml.models.ClipToTrainingRange``).
* ``nan_policy``: per feature, ``median`` (default: the scorecard imputes the training median, the
  gradient-boosted trees keep "missing" as a value of its own) or ``zero`` (missing means none, e.g. a
  count of events; filled before training and scoring). Missing values are counted per feature.
* ``feature_dropped_empty`` / ``feature_dropped_constant``: a feature with no value, or a single value,
  in the training periods is dropped with a warning (it cannot inform a model; a scorecard would
  divide by a zero spread).
* ``leakage``: the label listed as a feature is refused when the panel is read (``ml.panel``); a single
  feature that ranks the training labels almost perfectly (ROC-AUC >= ``LEAK_AUC`` or <= 1 - it) is
  refused as a likely leak of the label, unless ``--allow-leaky`` says it is known and wanted. The
  warehouse presets allow them (their features are point-in-time dbt marts whose tests prove no
  look-ahead; in a simulated world one flow pattern can separate the cases almost perfectly): the
  features are then named in a warning and in the report.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from ml.errors import MLError
from ml.panel import Panel

log = logging.getLogger(__name__)
LEAK_AUC = 0.99
POLICIES = ("median", "zero")


def parse_nan_policy(text: str | None, features: tuple[str, ...]) -> dict[str, str]:
    """``median``, ``zero`` or ``zero,feature=median,...``: the default first, then per-feature exceptions."""
    out = {f: "median" for f in features}
    for item in [x.strip() for x in (text or "").split(",") if x.strip()]:
        name, sep, pol = item.partition("=")
        if not sep:
            name, pol = "", name
        if pol not in POLICIES:
            raise MLError(f"--nan-policy {item!r}: policy must be one of {', '.join(POLICIES)}")
        if name and name not in out:
            raise MLError(f"--nan-policy {item!r}: {name!r} is not a feature of this panel")
        for f in ([name] if name else features):
            out[f] = pol
    return out


def prepare(panel: Panel, train_periods: list, nan_policy: str | None = None, allow_leaky: bool = False) -> Panel:
    """A panel ready to train on: policies applied, useless features dropped, leakage refused."""
    s = panel.spec
    policy = parse_nan_policy(nan_policy, s.features)
    frame = panel.frame.copy()
    zero = [f for f, p in policy.items() if p == "zero"]
    missing = {f: int(frame[f].isna().sum()) for f in s.features if frame[f].isna().any()}
    if zero:
        frame[zero] = frame[zero].fillna(0.0)
    train = frame[frame[s.period].isin(train_periods) & frame[s.label].notna()]
    dropped = {}
    for f in s.features:
        v = train[f].to_numpy(dtype=float)
        finite = v[np.isfinite(v)]
        if not np.isfinite(v).any() and not np.isinf(v).any():
            dropped[f] = "empty in the training periods (rule: feature_dropped_empty)"
        elif len(np.unique(v[~np.isnan(v)])) <= 1:
            dropped[f] = f"constant ({finite[0] if len(finite) else v[~np.isnan(v)][0]:g}) in the training periods " \
                         "(rule: feature_dropped_constant)"
    for f, why in dropped.items():
        log.warning("%s: feature %s dropped: %s", panel.source, f, why)
    kept = tuple(f for f in s.features if f not in dropped)
    if not kept:
        raise MLError(f"{panel.source}: every feature is empty or constant in the training periods "
                      "(rule: features_informative)")
    leaks = leaky_features(train, kept, s.label)
    for f, auc in leaks if allow_leaky else []:
        log.warning("%s: feature %s alone ranks the training labels with ROC-AUC %.3f: allowed as known "
                    "(rule: leakage_single_feature)", panel.source, f, auc)
    if leaks and not allow_leaky:
        f, auc = leaks[0]
        raise MLError(f"{panel.source}: feature {f!r} alone ranks the training labels with ROC-AUC {auc:.3f}: "
                      "a likely leak of the label (rule: leakage_single_feature; --allow-leaky if it is known)")
    handling = {**panel.handling, "missing_values": missing, "nan_policy": {f: policy[f] for f in kept},
                "dropped_features": dropped, "leaky_features_allowed": [f for f, _ in leaks] if leaks else []}
    return Panel(frame, replace(s, features=kept), panel.source, handling)


def leaky_features(train, features, label: str) -> list[tuple[str, float]]:
    from sklearn.metrics import roc_auc_score

    y = train[label].to_numpy(dtype=float)
    if len(np.unique(y)) < 2:
        return []
    out = []
    for f in features:
        v = train[f].to_numpy(dtype=float)
        ok = ~np.isnan(v)
        if ok.sum() < len(v) * 0.5 or len(np.unique(y[ok])) < 2:
            continue
        x = np.nan_to_num(v[ok], posinf=np.finfo(float).max, neginf=-np.finfo(float).max)
        auc = float(roc_auc_score(y[ok], x))
        if auc >= LEAK_AUC or auc <= 1 - LEAK_AUC:
            out.append((f, auc))
    return out
