"""Deterministic faults: which request fails how, and which record version is served malformed.

Decisions come from a keyed hash of (seed, what, n), not from a shared generator, so they do not depend
on thread scheduling or on how many other decisions were made.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass

from simulator import ids
from simulator.external.schema import FeedSpec

MALFORMED_KINDS = ("missing_mandatory_field", "wrong_type", "bad_uscc_check_char", "truncated_text")
ERROR_STATUSES = (500, 502, 503)


def unit(*parts: object) -> float:
    """A uniform number in [0, 1) determined by ``parts``."""
    h = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2.0**64


@dataclass(frozen=True)
class RequestFault:
    """What happens to feed request number ``n`` (0-based): ``status`` 200/429/5xx and ``delay`` seconds."""

    n: int
    status: int
    delay: float

    @property
    def kind(self) -> str:
        if self.status == 429:
            return "rate_limited"
        if self.status >= 500:
            return "server_error"
        return "slow" if self.delay > 0 else "ok"


def request_fault(seed: int, n: int, *, rate_limit: float, fault_rate: float, slow_rate: float,
                  slow_delay: float) -> RequestFault:
    u = unit(seed, "request", n)
    if u < rate_limit:
        return RequestFault(n, 429, 0.0)
    if u < rate_limit + fault_rate:
        return RequestFault(n, ERROR_STATUSES[int(unit(seed, "status", n) * len(ERROR_STATUSES))], 0.0)
    slow = unit(seed, "slow", n) < slow_rate
    return RequestFault(n, 200, slow_delay if slow else 0.0)


def _applicable(kind: str, rec: dict, spec: FeedSpec) -> str | None:
    """The field ``kind`` would break in ``rec``, or None if it cannot apply."""
    if kind == "missing_mandatory_field":
        cands = [f for f in spec.mandatory if f not in (spec.key, "updated_at", "version") and f in rec]
        return cands[0] if cands else None
    if kind == "wrong_type":
        return spec.typed_field if rec.get(spec.typed_field) is not None else None
    if kind == "bad_uscc_check_char":
        f = spec.uscc_field
        return f if f and f != spec.key and ids.is_valid_uscc(rec.get(f)) else None
    if kind == "truncated_text":
        v = rec.get(spec.text_field)
        return spec.text_field if isinstance(v, str) and len(v) >= 4 else None
    raise ValueError(kind)


def malformation(seed: int, spec: FeedSpec, key: str, version: int, rec: dict, rate: float) -> tuple[str, str] | None:
    """(kind, field) if this record version is served malformed at ``rate``, else None."""
    if rate <= 0 or unit(seed, "malformed", spec.name, key, version) >= rate:
        return None
    start = int(unit(seed, "malformed-kind", spec.name, key, version) * len(MALFORMED_KINDS))
    for j in range(len(MALFORMED_KINDS)):
        kind = MALFORMED_KINDS[(start + j) % len(MALFORMED_KINDS)]
        field = _applicable(kind, rec, spec)
        if field:
            return kind, field
    return None  # pragma: no cover - every feed has a mandatory and a typed field


def corrupt(rec: dict, kind: str, field: str, seed: int, spec: FeedSpec) -> dict:
    """A malformed copy of ``rec``."""
    out = copy.deepcopy(rec)
    v = out.get(field)
    if kind == "missing_mandatory_field":
        del out[field]
    elif kind == "wrong_type":
        if isinstance(v, int | float):
            out[field] = f"约{v / 10_000:.0f}万元"  # a number written as text
        elif isinstance(v, str) and v[:4].isdigit():
            out[field] = int(v[:10].replace("-", ""))  # a date written as a number
        else:
            out[field] = [v]
    elif kind == "bad_uscc_check_char":
        good = v[17]
        alt = [c for c in ids.USCC_ALPHABET if c != good]
        out[field] = v[:17] + alt[int(unit(seed, "uscc", spec.name, out[spec.key]) * len(alt))]
    elif kind == "truncated_text":
        cut = max(1, int(len(v) * (0.3 + 0.3 * unit(seed, "cut", spec.name, out[spec.key]))))
        out[field] = v[:cut]
    else:  # pragma: no cover
        raise ValueError(kind)
    return out
