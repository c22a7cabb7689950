"""Named random streams: one independent generator per concern, derived from the run's seed.

Each concern (universe, health, capital, submission timing, ...) draws from its own stream, so adding a
new concern (or drawing more numbers in one) never changes what another concern produces for the same
seed.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from datetime import date

import numpy as np


def stream(seed: int, *names: str) -> np.random.Generator:
    """The generator for ``names`` (e.g. ``stream(7, "capital")``) under ``seed``."""
    keys = [zlib.crc32(n.encode("utf-8")) for n in names]
    return np.random.default_rng([int(seed), *keys])


class Extension:
    """Draws for periods beyond the base window (``simulate advance``), one stream per extra period.

    A panel draw (institutions x periods, loans x months, ...) takes its base columns from the concern's
    own generator with exactly the base shape, so the base stream consumes what it always did, and each
    extra column from the stream ``(seed, name, "ext", <period>)``. A column therefore depends only on
    its own period: a world built with one extra month and one built with four agree on the first extra
    month, and both agree with the base world on the base window. Draws within one period stay in call
    order, so a function makes its panel draws in a fixed order.
    """

    def __init__(self, seed: int, name: str, periods: Sequence[date], t_base: int) -> None:
        self.t_base = int(t_base)
        self.t = len(periods)
        self.periods = list(periods)
        self.gens = [stream(seed, name, "ext", p.isoformat()) for p in self.periods[self.t_base:]]

    @classmethod
    def none(cls, t: int) -> Extension:
        """No extra periods: every panel draw is the base draw of ``t`` columns."""
        ext = cls.__new__(cls)
        ext.t_base, ext.t, ext.periods, ext.gens = t, t, [], []
        return ext

    def panel(self, rng: np.random.Generator, n: int, draw: Callable) -> np.ndarray:
        """``(n, t)``: ``draw(rng, (n, t_base), slice(0, t_base))`` then, per extra period ``j``,
        ``draw(gen_j, (n,), j)`` as column ``j``. ``draw(gen, size, cols)`` may index column-wise
        parameters with ``cols``."""
        base = np.asarray(draw(rng, (n, self.t_base), slice(0, self.t_base)))
        if not self.gens:
            return base
        cols = [np.asarray(draw(g, (n,), self.t_base + j)) for j, g in enumerate(self.gens)]
        return np.column_stack([base.reshape(n, self.t_base), *cols])

    def normal(self, rng: np.random.Generator, loc, scale, n: int) -> np.ndarray:
        return self.panel(rng, n, lambda g, size, _c: g.normal(loc, scale, size=size))

    def random(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.panel(rng, n, lambda g, size, _c: g.random(size))

    def uniform(self, rng: np.random.Generator, low, high, n: int) -> np.ndarray:
        return self.panel(rng, n, lambda g, size, _c: g.uniform(low, high, size=size))

    def integers(self, rng: np.random.Generator, low, high, n: int) -> np.ndarray:
        return self.panel(rng, n, lambda g, size, _c: g.integers(low, high, size=size))
