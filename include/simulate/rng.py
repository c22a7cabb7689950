"""Named random streams: one independent generator per concern, derived from the run's seed.

Each concern (universe, health, capital, submission timing, ...) draws from its own stream, so adding a
new concern (or drawing more numbers in one) never changes what another concern produces for the same
seed.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, *names: str) -> np.random.Generator:
    """The generator for ``names`` (e.g. ``stream(7, "capital")``) under ``seed``."""
    keys = [zlib.crc32(n.encode("utf-8")) for n in names]
    return np.random.default_rng([int(seed), *keys])
