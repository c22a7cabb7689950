"""Named sizes for a simulation run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

LAST_PERIOD = date(2025, 12, 31)


@dataclass(frozen=True)
class Preset:
    name: str
    n_institutions: int
    n_quarters: int
    last_period: date = LAST_PERIOD
    gb18030_share: float = 0.25  # institutions delivering GB18030 instead of UTF-8
    gzip_share: float = 0.25  # institutions gzipping their files
    deteriorating_share: float = 0.08  # capital reporters planted to fall below the CAR minimum


PRESETS: dict[str, Preset] = {
    "tiny": Preset("tiny", n_institutions=10, n_quarters=4),
    "small": Preset("small", n_institutions=80, n_quarters=8),
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; known: {sorted(PRESETS)}") from None
