"""Warning levels from calibrated probabilities, plus rule overrides that can only raise a level.

Cut-offs are configurable (``--cutoffs red=0.5,orange=0.25,yellow=0.1,blue=0.03`` on the CLI or the
``SUPERVISION_ML_CUTOFFS`` variable in the same form). Overrides are rules on columns of the scoring
frame: a row whose column is truthy is raised to at least the rule's level, and the rule is recorded
in ``ml.risk_scores.overrides``. Defaults: capital adequacy under the regulatory minimum -> at least
orange (institution panel: ``car_below_minimum``); a confirmed illegal-fundraising flow pattern -> red
(firm panel: ``confirmed_flow_pattern``, a flow alert on one of the firm's accounts in the scored month).
A rule whose column a panel lacks does not apply to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

LEVELS = ("red", "orange", "yellow", "blue", "none")  # most to least severe
RANK = {lv: i for i, lv in enumerate(LEVELS)}


@dataclass(frozen=True)
class Override:
    column: str
    level: str
    rule: str
    text_zh: str
    text_en: str


DEFAULT_OVERRIDES = (
    Override("car_below_minimum", "orange", "capital_under_minimum",
             "资本充足率低于监管最低要求", "capital adequacy ratio under the regulatory minimum"),
    Override("confirmed_flow_pattern", "red", "confirmed_flow_pattern",
             "已确认非法集资资金流特征", "confirmed illegal-fundraising flow pattern"),
)


@dataclass(frozen=True)
class LevelConfig:
    cutoffs: dict[str, float] = field(default_factory=lambda: {"red": 0.5, "orange": 0.25, "yellow": 0.10,
                                                               "blue": 0.03})
    overrides: tuple[Override, ...] = DEFAULT_OVERRIDES

    def __post_init__(self) -> None:
        unknown = set(self.cutoffs) - set(LEVELS[:-1])
        if unknown:
            raise ValueError(f"unknown warning levels {sorted(unknown)}; levels are {LEVELS[:-1]}")
        vals = [self.cutoffs[lv] for lv in LEVELS[:-1] if lv in self.cutoffs]
        if any(not 0 <= v <= 1 for v in vals) or vals != sorted(vals, reverse=True):
            raise ValueError(f"cut-offs must be in [0, 1] and fall from red to blue: {self.cutoffs}")

    def describe(self) -> str:
        return ", ".join(f"{lv} >= {v:g}" for lv, v in self.cutoffs.items())

    @classmethod
    def parse(cls, text: str | None = None) -> LevelConfig:
        text = text if text is not None else os.environ.get("SUPERVISION_ML_CUTOFFS")
        if not text:
            return cls()
        try:
            pairs = dict(item.split("=", 1) for item in text.split(","))
            cutoffs = {k.strip(): float(v) for k, v in pairs.items()}
        except ValueError as e:
            raise ValueError(f"cut-offs {text!r}: expected level=probability pairs, e.g. red=0.5,orange=0.25 ({e})"
                             ) from None
        return cls(cutoffs=cutoffs)


def assign(prob: np.ndarray, cfg: LevelConfig) -> np.ndarray:
    out = np.full(len(prob), "none", dtype=object)
    for lv in reversed(LEVELS[:-1]):  # blue first, red last, so the most severe wins
        if lv in cfg.cutoffs:
            out[prob >= cfg.cutoffs[lv]] = lv
    return out


def apply_overrides(frame: pd.DataFrame, levels: np.ndarray, cfg: LevelConfig) -> tuple[np.ndarray, list[list]]:
    """Raise levels where an override's column is truthy; return (levels, overrides applied per row)."""
    levels = levels.copy()
    applied: list[list] = [[] for _ in range(len(frame))]
    for ov in cfg.overrides:
        if ov.column not in frame.columns:
            continue
        hit = frame[ov.column].fillna(0).astype(float).to_numpy() > 0
        for i in np.flatnonzero(hit):
            if RANK[ov.level] < RANK[levels[i]]:
                applied[i].append({"rule": ov.rule, "from": levels[i], "to": ov.level, "column": ov.column,
                                   "text_zh": ov.text_zh, "text_en": ov.text_en})
                levels[i] = ov.level
    return levels, applied
