"""Time-respecting splits: out-of-time holdout, rolling-origin backtests, calibration slice.

All splits are by period, never by row: a model is always evaluated on periods after every period it
(or its calibrator) saw. ``embargo`` drops the last ``embargo`` periods before a test period from
training, for labels whose look-ahead windows overlap (a label "event within the next h periods" of
period t - 1 shares events with the label of period t; an embargo of h - 1 removes that overlap).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


class SplitError(ValueError):
    pass


@dataclass(frozen=True)
class Split:
    fit: list[pd.Timestamp]  # the model is fitted on these periods
    calibrate: list[pd.Timestamp]  # the probability calibrator on these (later than fit)
    test: list[pd.Timestamp]  # evaluated on these (later than both, after the embargo)

    @property
    def train(self) -> list[pd.Timestamp]:
        return [*self.fit, *self.calibrate]


def _train_split(train: list[pd.Timestamp], calibration_periods: int) -> tuple[list, list]:
    if len(train) < calibration_periods + 1:
        raise SplitError(f"need at least {calibration_periods + 1} training periods, have {len(train)}")
    return train[:-calibration_periods], train[-calibration_periods:]


def out_of_time(periods: list[pd.Timestamp], holdout_periods: int, embargo: int = 0,
                calibration_periods: int = 1) -> Split:
    """Hold out the latest ``holdout_periods`` periods; train on what is before them."""
    periods = sorted(periods)
    if holdout_periods < 1:
        raise SplitError("holdout_periods must be >= 1")
    test = periods[-holdout_periods:]
    train = periods[: max(0, len(periods) - holdout_periods - embargo)]
    fit, cal = _train_split(train, calibration_periods)
    return Split(fit, cal, test)


def rolling_origin(periods: list[pd.Timestamp], min_train_periods: int = 3, embargo: int = 0,
                   calibration_periods: int = 1) -> list[Split]:
    """One split per test period: train on every period before it (less the embargo), test on it."""
    periods = sorted(periods)
    splits = []
    for i in range(len(periods)):
        train = periods[: max(0, i - embargo)]
        if len(train) < max(min_train_periods, calibration_periods + 1):
            continue
        fit, cal = _train_split(train, calibration_periods)
        splits.append(Split(fit, cal, [periods[i]]))
    return splits


def default_holdout(n_periods: int) -> int:
    """About a quarter of the labelled periods, at least one."""
    return max(1, round(n_periods / 4))
