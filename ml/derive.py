"""Panel-derived features, point-in-time by construction: ``--derive lag1,diff1,diff4,trend4``.

For every feature ``x`` and entity, on the panel's own period grid (period k = the k-th distinct period):

* ``x__lag1``: ``x`` one period earlier; ``x__diff1`` / ``x__diff4``: ``x`` minus ``x`` 1 / 4 periods
  earlier; ``x__trend4``: the least-squares slope of ``x`` over the latest 4 periods (this one and the
  3 before), per period.

A value uses only the entity's own rows at or before its period, and is missing when an earlier
period is missing for the entity (a gap is never bridged), so it is known when the period is scored.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ml.errors import MLError
from ml.panel import Panel, canonical_order

KINDS = ("lag1", "diff1", "diff4", "trend4")
_TREND_W = np.array([-1.5, -0.5, 0.5, 1.5]) / 5.0  # slope weights for x[t-3..t]


def parse(text: str | None) -> tuple[str, ...]:
    kinds = tuple(x.strip() for x in (text or "").split(",") if x.strip())
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise MLError(f"--derive {text!r}: unknown {bad}; choose from {', '.join(KINDS)}")
    return kinds


def derive(panel: Panel, kinds: tuple[str, ...]) -> Panel:
    if not kinds:
        return panel
    s = panel.spec
    frame = panel.frame.copy()
    grid = {p: i for i, p in enumerate(sorted(frame[s.period].unique()))}
    frame["_i"] = frame[s.period].map(grid)
    base = frame.set_index([s.entity, "_i"])[list(s.features)]
    need = {1} if {"lag1", "diff1"} & set(kinds) else set()
    need |= {4} if "diff4" in kinds else set()
    need |= {1, 2, 3} if "trend4" in kinds else set()
    key = pd.MultiIndex.from_arrays([frame[s.entity], frame["_i"]])
    lagged = {k: base.reindex(pd.MultiIndex.from_arrays([frame[s.entity], frame["_i"] - k])).to_numpy()
              for k in sorted(need)}
    now = base.reindex(key).to_numpy()
    new = {}
    for j, f in enumerate(s.features):
        if "lag1" in kinds:
            new[f"{f}__lag1"] = lagged[1][:, j]
        if "diff1" in kinds:
            new[f"{f}__diff1"] = now[:, j] - lagged[1][:, j]
        if "diff4" in kinds:
            new[f"{f}__diff4"] = now[:, j] - lagged[4][:, j]
        if "trend4" in kinds:
            stack = np.column_stack([lagged[3][:, j], lagged[2][:, j], lagged[1][:, j], now[:, j]])
            new[f"{f}__trend4"] = stack @ _TREND_W
    out = pd.concat([frame.drop(columns="_i"), pd.DataFrame(new, index=frame.index)], axis=1)
    spec = replace(s, features=(*s.features, *new))
    return Panel(canonical_order(out, spec), spec, panel.source,  # the new features are content too
                 {**panel.handling, "derived": list(kinds)})


def texts(base: dict[str, tuple[str, str]], features: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """Words for derived features from the base feature's words (for reasons and reports)."""
    words = {"lag1": ("上期", "previous period's "), "diff1": ("环比变化", "one-period change in "),
             "diff4": ("四期变化", "four-period change in "), "trend4": ("近四期趋势", "four-period trend of ")}
    out = dict(base)
    for f in features:
        b, sep, k = f.rpartition("__")
        if sep and k in words:
            zh, en = base.get(b, (b, b))
            out[f] = (f"{zh}{words[k][0]}" if k != "lag1" else f"{words[k][0]}{zh}", f"{words[k][1]}{en}")
    return out
