"""Scoring the detector's output against the outside generator's labels (pure functions, no database).

Unit: a pattern member (an account in one laundering pattern, with its role). The flow models look at an
account-month through a trailing window of ``window`` months, so a member counts as found by a selection of
account-months when any of its account-months from the month of its first laundering transfer to ``window - 1``
months after its last is selected. Precision: the share of selected account-months that are such a month of
some member. Chance: the expected recall and precision of drawing the same number of account-months at random
from the scored ones (hypergeometric, exact).
"""

from __future__ import annotations

import csv
import math
import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

Key = tuple[str, date]          # (account as in the file, month end)


def month_end(d: date) -> date:
    nxt = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return month_end(date(d.year + y, m + 1, 1))


def read_members(labels: Path, window: int) -> list[dict]:
    """Every label row with its candidate account-months."""
    members = []
    with labels.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            first = month_end(datetime.fromisoformat(row["first_time"]).date())
            last = month_end(datetime.fromisoformat(row["last_time"]).date())
            months, m = [], first
            while m <= add_months(last, window - 1):
                months.append(m)
                m = add_months(m, 1)
            members.append({**row, "months": [(row["account"], m) for m in months]})
    return members


def plain_rule_counts(transfers: Path, days: int = 30) -> dict[Key, int]:
    """Per receiving account and month: the most distinct senders it had in any ``days``-day window ending
    at one of its inflows that month (the plain rule "at least k distinct senders in 30 days")."""
    inflows: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    with transfers.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            inflows[row["receiver_account"]].append((datetime.fromisoformat(row["timestamp"]), row["sender_account"]))
    out: dict[Key, int] = {}
    span = timedelta(days=days)
    for account, rows in inflows.items():
        rows.sort()
        window: dict[str, int] = defaultdict(int)   # sender -> transfers in the sliding window
        lo = 0
        for t, sender in rows:
            window[sender] += 1
            while rows[lo][0] < t - span:
                gone = rows[lo][1]
                window[gone] -= 1
                if not window[gone]:
                    del window[gone]
                lo += 1
            k = (account, month_end(t.date()))
            if len(window) > out.get(k, 0):
                out[k] = len(window)
    return out


def top(scores: dict[Key, float], volume: int, seed: int = 0) -> set[Key]:
    """The ``volume`` best account-months by score, ties broken at random (seeded)."""
    rng = random.Random(seed)
    ranked = sorted(scores, key=lambda k: (-scores[k], rng.random()))
    return set(ranked[:volume])


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) if 0 <= k <= n else -math.inf


def chance_found(universe: int, candidates: int, volume: int) -> float:
    """P(at least one of ``candidates`` account-months drawn when ``volume`` of ``universe`` are drawn)."""
    if candidates <= 0 or volume <= 0:
        return 0.0
    if volume > universe - candidates:
        return 1.0
    return 1.0 - math.exp(_log_comb(universe - candidates, volume) - _log_comb(universe, volume))


def evaluate(members: list[dict], selection: set[Key]) -> dict:
    """Recall per (pattern, role) and overall, precision of the selection."""
    positive = {k for m in members for k in m["months"]}
    groups: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for m in members:
        found = any(k in selection for k in m["months"])
        groups[(m["pattern"], m["role"])].append(found)
        groups[("all", m["role"])].append(found)
        groups[("all", "all")].append(found)
    return {"recall": {g: sum(v) / len(v) for g, v in groups.items()}, "n": {g: len(v) for g, v in groups.items()},
            "volume": len(selection), "true": len(selection & positive),
            "precision": len(selection & positive) / len(selection) if selection else 0.0}


def evaluate_chance(members: list[dict], universe: set[Key], volume: int) -> dict:
    positive = {k for m in members for k in m["months"]} & universe
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for m in members:
        p = chance_found(len(universe), sum(1 for k in m["months"] if k in universe), volume)
        for g in ((m["pattern"], m["role"]), ("all", m["role"]), ("all", "all")):
            groups[g].append(p)
    return {"recall": {g: sum(v) / len(v) for g, v in groups.items()}, "n": {g: len(v) for g, v in groups.items()},
            "volume": volume, "precision": len(positive) / len(universe) if universe else 0.0}
