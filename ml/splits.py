"""Time-respecting splits: out-of-time holdout, calibration, rolling-origin backtests inside training.

All splits are by period, never by row: a model is always evaluated on periods after every period it
(or its calibrator) saw. ``embargo`` drops the last ``embargo`` periods before a test period from
training, for labels whose look-ahead windows overlap (a label "event within the next h periods" of
period t - 1 shares events with the label of period t; an embargo of h - 1 removes that overlap).

A split is asked for explicitly (``SplitPlan``: ``--train-until``, ``--calibrate``, ``--holdout-from``,
``--holdout-until``) or by default: the latest ~quarter of labelled periods held out, the last training
period used for calibration. ``--calibrate`` is a number of periods (the latest training periods), a
period range ``FROM:UNTIL`` inside the training periods, or ``cv``: cross-fitted calibration inside the
training periods (folds by period), so every training period is also fitted on.

Backtests (``rolling_origin``) run on the training periods only: they are the validation folds on
which candidates are compared and the challenger chosen; the holdout is touched once, for the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ml.errors import MLError
from ml.periods import bound, label


class SplitError(MLError):
    pass


@dataclass(frozen=True)
class Split:
    fit: list[pd.Timestamp]  # the model is fitted on these periods
    calibrate: list[pd.Timestamp]  # the probability calibrator on these (later than fit); [] with cv
    test: list[pd.Timestamp]  # evaluated on these (later than both, after the embargo)
    calibrate_cv: bool = False  # cross-fitted calibration inside the fit periods

    @property
    def train(self) -> list[pd.Timestamp]:
        return [*self.fit, *self.calibrate]

    def describe(self) -> dict:
        def rng(ps):
            return f"{label(ps[0])}..{label(ps[-1])} ({len(ps)})" if ps else "-"
        return {"fit": rng(self.fit), "calibrate": "cv (cross-fitted in fit periods)" if self.calibrate_cv
                else rng(self.calibrate), "holdout": rng(self.test)}

    def as_meta(self) -> dict:
        return {"fit_periods": [label(p) for p in self.fit], "calibration_periods": [label(p) for p in self.calibrate],
                "calibration_cv": self.calibrate_cv, "holdout_periods": [label(p) for p in self.test]}


@dataclass(frozen=True)
class SplitPlan:
    """What the user asked for; ``resolve`` turns it into a Split on a panel's labelled periods."""

    holdout_periods: int | None = None
    train_until: str | None = None
    calibrate: str = "1"
    holdout_from: str | None = None
    holdout_until: str | None = None
    embargo: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def explicit(self) -> bool:
        return bool(self.train_until or self.holdout_from or self.holdout_until)

    def resolve(self, periods: list[pd.Timestamp]) -> Split:
        periods = sorted(periods)
        if self.embargo < 0:
            raise SplitError(f"--embargo {self.embargo}: must be 0 or more")
        if not periods:
            raise SplitError("the panel has no labelled period")
        if self.explicit:
            if self.holdout_periods is not None:
                raise SplitError("--holdout-periods cannot be combined with "
                                 "--train-until/--holdout-from/--holdout-until")
            tu = bound(self.train_until, True, "--train-until") if self.train_until else None
            hf = bound(self.holdout_from, False, "--holdout-from") if self.holdout_from else None
            hu = bound(self.holdout_until, True, "--holdout-until") if self.holdout_until else None
            if hf is None and tu is not None:
                after = [p for p in periods if p > tu]
                test = [p for p in after[self.embargo:] if hu is None or p <= hu]
            else:
                test = [p for p in periods if (hf is None or p >= hf) and (hu is None or p <= hu)]
            if not test:
                raise SplitError(f"no labelled period in the holdout (labelled periods {label(periods[0])}.."
                                 f"{label(periods[-1])})")
            before = [p for p in periods if p < test[0]]
            train = [p for p in before if tu is None or p <= tu]
            if len(before) - len(train) < self.embargo:  # the embargo comes out of the training periods
                train = train[: len(before) - self.embargo] if len(before) > self.embargo else []
            if tu is not None and test[0] <= tu:
                raise SplitError(f"the holdout starts {label(test[0])}, not after --train-until {label(tu)}")
        else:
            h = default_holdout(len(periods)) if self.holdout_periods is None else self.holdout_periods
            if h < 1:
                raise SplitError(f"--holdout-periods {h}: must be 1 or more")
            if h >= len(periods):
                raise SplitError(f"--holdout-periods {h}: the panel has only {len(periods)} labelled periods")
            test = periods[-h:]
            train = periods[: max(0, len(periods) - h - self.embargo)]
        if not train:
            raise SplitError("no labelled period left for training before the holdout")
        fit, cal, cv = calibration(train, self.calibrate)
        return Split(fit, cal, test, cv)


def calibration(train: list[pd.Timestamp], calibrate: str) -> tuple[list, list, bool]:
    """(fit, calibration, cross-fitted?) from the training periods and ``--calibrate``."""
    text = str(calibrate).strip()
    if text.lower() == "cv":
        if len(train) < 2:
            raise SplitError(f"--calibrate cv needs at least 2 training periods, have {len(train)}")
        return list(train), [], True
    if text.isdigit():
        n = int(text)
        if n < 1:
            raise SplitError("--calibrate 0: give 1 or more periods, a range FROM:UNTIL, or cv")
        if len(train) < n + 1:
            raise SplitError(f"--calibrate {n}: need at least {n + 1} training periods, have {len(train)}")
        return train[:-n], train[-n:], False
    lo, sep, hi = text.partition(":")
    if not sep:
        lo = hi = text
    a, b = bound(lo, False, "--calibrate"), bound(hi, True, "--calibrate")
    cal = [p for p in train if a <= p <= b]
    fit = [p for p in train if p < a]
    if not cal:
        raise SplitError(f"--calibrate {text}: no training period falls in it")
    if not fit:
        raise SplitError(f"--calibrate {text}: no training period before it is left to fit on")
    if any(p > b for p in train):
        raise SplitError(f"--calibrate {text}: must be the latest training periods (later ones would be unused)")
    return fit, cal, False


def out_of_time(periods: list[pd.Timestamp], holdout_periods: int, embargo: int = 0,
                calibration_periods: int = 1) -> Split:
    """Hold out the latest ``holdout_periods`` periods; train on what is before them."""
    return SplitPlan(holdout_periods, calibrate=str(calibration_periods), embargo=embargo).resolve(periods)


def rolling_origin(periods: list[pd.Timestamp], min_train_periods: int = 3, embargo: int = 0,
                   calibrate: str | int = 1) -> list[Split]:
    """One split per test period: train on every period before it (less the embargo), test on it.
    Pass the training periods only: folds then end before the holdout."""
    periods = sorted(periods)
    cv = str(calibrate).lower() == "cv"
    n_cal = 0 if cv else (int(calibrate) if str(calibrate).isdigit() else 1)
    splits = []
    for i in range(len(periods)):
        train = periods[: max(0, i - embargo)]
        if len(train) < max(min_train_periods, n_cal + 1, 2):
            continue
        if cv:
            splits.append(Split(list(train), [], [periods[i]], True))
        else:
            splits.append(Split(train[:-n_cal], train[-n_cal:], [periods[i]]))
    return splits


def default_holdout(n_periods: int) -> int:
    """About a quarter of the labelled periods, at least one."""
    return max(1, round(n_periods / 4))
