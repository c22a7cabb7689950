"""Reporting periods: month and quarter ends."""

from __future__ import annotations

import calendar
from datetime import date


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def quarter_ends(last: date, n: int) -> list[date]:
    """The ``n`` quarter-end dates ending at ``last`` (itself a quarter end), oldest first."""
    if (last.month % 3, last) != (0, month_end(last.year, last.month)):
        raise ValueError(f"{last} is not a quarter end")
    out = []
    y, m = last.year, last.month
    for _ in range(n):
        out.append(month_end(y, m))
        m -= 3
        if m <= 0:
            m += 12
            y -= 1
    return out[::-1]


def month_ends(last: date, n: int) -> list[date]:
    """The ``n`` month-end dates ending at ``last``'s month, oldest first."""
    out = []
    y, m = last.year, last.month
    for _ in range(n):
        out.append(month_end(y, m))
        m -= 1
        if m == 0:
            m, y = 12, y - 1
    return out[::-1]
