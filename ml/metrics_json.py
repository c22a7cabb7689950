"""JSON out of the command line: NaN/inf as null, numbers as numbers (no numpy or pandas import)."""

from __future__ import annotations

import json
import math


def safe(obj):
    if isinstance(obj, dict):
        return {str(k): safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [safe(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):  # numpy scalars
        try:
            return safe(obj.item())
        except (TypeError, ValueError):
            return str(obj)
    return obj


def dumps(obj) -> str:
    return json.dumps(safe(obj), indent=2, ensure_ascii=False, default=str, allow_nan=False)
