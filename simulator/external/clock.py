"""Time in the external feeds: months as ordinals (``year * 12 + month - 1``), timestamps as epoch
seconds, served as ISO 8601 at +08:00."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np

from simulator.periods import month_end

CST = timezone(timedelta(hours=8))
NEVER = 10**7  # a month ordinal that never comes
DAY = 86_400


def mord(d: date) -> int:
    return d.year * 12 + d.month - 1


def month_of(o: int) -> date:
    y, m = divmod(int(o), 12)
    return month_end(y, m + 1)


def month_start_ts(o: int) -> int:
    y, m = divmod(int(o), 12)
    return int(datetime(y, m + 1, 1, tzinfo=CST).timestamp())


def month_cutoff_ts(o: int) -> int:
    """Last second of month ``o`` (+08:00)."""
    return month_start_ts(o + 1) - 1


def iso(ts: int) -> str:
    return datetime.fromtimestamp(int(ts), CST).isoformat(timespec="seconds")


def iso_date(ts: int) -> str:
    return datetime.fromtimestamp(int(ts), CST).date().isoformat()


def parse_ts(s: str) -> float:
    """Epoch seconds of an ISO 8601 timestamp (naive = +08:00; a ``+`` decoded to a space is tolerated)."""
    s = s.strip().replace(" ", "+") if "T" in s else s.strip()
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=CST)
    return dt.astimezone(UTC).timestamp()


def rand_ts(rng: np.random.Generator, o: int, n: int, *, from_day: int = 0) -> np.ndarray:
    start = month_start_ts(o)
    return start + rng.integers(from_day * DAY, month_start_ts(o + 1) - start, n)
