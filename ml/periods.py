"""Period parsing: ``YYYYQn`` (the quarter's last day), ``YYYY-MM`` (the month's last day) and dates.

A warehouse period is the day the features describe (quarter or month end), so ``2010Q3`` is
2010-09-30 and ``2011-02`` is 2011-02-28. Split bounds on the command line use the same forms: a
"from" bound is the first day of the named period, an "until" bound its last day, so
``--holdout-from 2010Q4`` takes in a period dated 2010-10-01 as well as one dated 2010-12-31.
"""

from __future__ import annotations

import re

from ml.errors import MLError

_Q = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")
_M = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
_D = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}([ T].*)?$")


def _bounds(text: str):
    """(first day, last day) of the period ``text`` names, or None if it is not a period."""
    import pandas as pd

    s = str(text)
    if m := _Q.match(s):
        q = pd.Period(year=int(m[1]), quarter=int(m[2]), freq="Q")
        return q.start_time.normalize(), q.end_time.normalize()
    if m := _M.match(s):
        if not 1 <= int(m[2]) <= 12:
            return None
        p = pd.Period(year=int(m[1]), month=int(m[2]), freq="M")
        return p.start_time.normalize(), p.end_time.normalize()
    if _D.match(s):
        try:
            d = pd.Timestamp(s).normalize()
        except ValueError:
            return None
        return d, d
    return None


def parse_series(values):
    """A Series of strings/dates -> (datetime64 Series, index of the first value that is no period or None)."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(values):
        out = pd.to_datetime(values).dt.tz_localize(None) if getattr(values.dt, "tz", None) else values
        bad = out.isna()
        return out.astype("datetime64[ns]"), (int(bad.to_numpy().argmax()) if bad.any() else None)
    uniq = {}
    for v in pd.unique(values.astype(object)):
        b = None if v is None or (isinstance(v, float) and v != v) else _bounds(v)
        uniq[v] = b[1] if b else pd.NaT
    out = values.astype(object).map(uniq)
    out = pd.to_datetime(out).astype("datetime64[ns]")
    bad = out.isna()
    return out, (int(bad.to_numpy().argmax()) if bad.any() else None)


def bound(text: str, end: bool, option: str):
    """A split bound from the command line (see module docstring); MLError naming the option if unreadable."""
    b = _bounds(text)
    if b is None:
        raise MLError(f"{option} {text!r}: not a period (use YYYYQn, YYYY-MM or YYYY-MM-DD)")
    return b[1] if end else b[0]


def label(ts) -> str:
    return str(ts.date()) if hasattr(ts, "date") else str(ts)
