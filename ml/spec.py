"""What a panel's columns are (no pandas here: the command line imports it to answer ``--help`` at once)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ml.errors import MLError


class PanelError(MLError):
    """A panel that cannot be trained on, with the source, row and rule in the message."""


@dataclass(frozen=True)
class PanelSpec:
    entity: str
    period: str
    label: str
    features: tuple[str, ...]
    baseline: str | None = None  # a rule score column (e.g. count of threshold breaches), higher = riskier
    extra: tuple[str, ...] = field(default_factory=tuple)  # carried along (e.g. override flags), not features
