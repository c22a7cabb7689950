"""The JSON result file of a bench/ml diagnostic (`--out`): one place for how it is written."""

from __future__ import annotations

import json
from pathlib import Path


def save(out: dict, path: str | None) -> None:
    """Write ``out`` to ``path`` as indented JSON (0600: it holds figures of a simulated world); no path, nothing."""
    if not path:
        return
    p = Path(path)
    p.write_text(json.dumps(out, indent=2, default=str), encoding="utf-8")
    p.chmod(0o600)
