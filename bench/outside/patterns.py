"""AMLworld's eight laundering typologies (Altman et al. 2023, figure "laundering patterns"; AMLSim's typology
set): fan-out, fan-in, cycle, bipartite, stack, scatter-gather, gather-scatter, random.

Each pattern is planned first (its shape and size), so the number of fresh mule accounts is known before the
background population is drawn; then its members are assigned: most are ordinary accounts of the world that
also live an ordinary life (AMLworld's launderers are agents of the same world), some are fresh accounts
that exist only to move the money. Amounts are log-normal around a per-pattern sum, never rounded; each hop
of a layered pattern forwards what it received less a small cut, after a delay of hours to days; purposes
and channels come from the same distributions as the background, by sender type.

Roles in the labels: ``collector`` (where a pattern's money converges: the fan-in hub, the bipartite/stack
last layer, the scatter-gather sink, the gather-scatter hub), ``distributor`` (where it diverges from: the
fan-out hub, the bipartite/stack first layer, the scatter-gather source), ``intermediary`` (everyone else:
fan-in senders, fan-out receivers, cycle and random-walk members, middle layers, gather-scatter spokes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from bench.outside.world import (
    CHANNEL_CORP,
    CHANNEL_IND,
    PURPOSE_CORP,
    PURPOSE_IND,
    Txn,
    World,
    bank_weights,
    moment,
    pick,
)

KINDS = ("fan_out", "fan_in", "cycle", "bipartite", "stack", "scatter_gather", "gather_scatter", "random")
FRESH_SHARE = 0.2               # members that are fresh accounts used only for laundering
HUB_COMPANY = 0.5               # hubs (collector/distributor of fan and gather patterns) held by a company
NON_HUB_COMPANY = 0.15          # other members held by a company
PATTERN_SUM = (45000.0, 0.9)    # log-normal (median, sigma) of the money one pattern moves (yuan)
EDGE_SIGMA = 0.3                # spread of one edge's amount around its share
SPAN_DAYS = (2, 28)             # the window over which the parallel edges of a pattern happen
HOP_DAYS = (0.2, 4.0)           # delay before an account forwards what it received
CUT = (0.9, 0.99)               # share forwarded at each hop


@dataclass
class Plan:
    pid: int
    kind: str
    shape: tuple[int, ...]      # layer sizes (members per layer), see _shape


def _shape(rng: np.random.Generator, kind: str) -> tuple[int, ...]:
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    return {"fan_out": (1, r(4, 14)), "fan_in": (r(4, 14), 1), "cycle": (r(3, 8),),
            "bipartite": (r(2, 5), r(2, 6)), "stack": (r(2, 4), r(2, 5), r(2, 4)),
            "scatter_gather": (1, r(3, 10), 1), "gather_scatter": (r(3, 9), 1, r(3, 9)),
            "random": (r(4, 8),)}[kind]


def plan_patterns(rng: np.random.Generator, per_kind: int) -> list[Plan]:
    plans = [Plan(0, k, ()) for k in KINDS for _ in range(per_kind)]
    for i, p in enumerate(plans):
        p.pid, p.shape = i + 1, _shape(rng, p.kind)
    return plans


def n_members(plans: list[Plan]) -> int:
    return sum(sum(p.shape) for p in plans)


def _hub_layers(p: Plan) -> set[int]:
    return {"fan_out": {0}, "fan_in": {1}, "scatter_gather": {0, 2}, "gather_scatter": {1}}.get(p.kind, set())


def _roles(p: Plan) -> list[str]:
    """The role of each layer."""
    if p.kind in ("cycle", "random"):
        return ["intermediary"]
    return {"fan_out": ["distributor", "intermediary"], "fan_in": ["intermediary", "collector"],
            "bipartite": ["distributor", "collector"], "stack": ["distributor", "intermediary", "collector"],
            "scatter_gather": ["distributor", "intermediary", "collector"],
            "gather_scatter": ["intermediary", "collector", "intermediary"]}[p.kind]


class Launderer:
    """Assigns members and writes the transfers of every planned pattern into the world."""

    def __init__(self, rng: np.random.Generator, world: World, pools: dict[str, np.ndarray], n_fresh: int,
                 n_members: int):
        self.rng, self.w = rng, world
        self.people = [int(a) for a in rng.permutation(pools["people"])]
        self.companies = [int(a) for a in rng.permutation(pools["companies"])]
        self.fresh_left, self.members_left = n_fresh, n_members
        self.labels: list[dict] = []

    def _member(self, hub: bool) -> int:
        """An ordinary account of the world or, with the chance that spends the fresh budget exactly, a new one."""
        rng = self.rng
        company = rng.random() < (HUB_COMPANY if hub else NON_HUB_COMPANY)
        fresh = rng.random() < self.fresh_left / self.members_left
        self.members_left -= 1
        if fresh:
            self.fresh_left -= 1
            return self.w.add_account(rng, "对公" if company else "个人", "mule", bank_weights())
        return (self.companies if company else self.people).pop()

    def run(self, plans: list[Plan]) -> None:
        for p in plans:
            hubs = _hub_layers(p)
            layers = [[self._member(i in hubs) for _ in range(n)] for i, n in enumerate(p.shape)]
            total = float(PATTERN_SUM[0] * np.exp(PATTERN_SUM[1] * self.rng.standard_normal()))
            end = self.w.end - timedelta(days=45)
            start_day = self.w.start + timedelta(days=int(self.rng.integers(0, (end.date() - self.w.start).days)))
            t0 = moment(self.rng, start_day, False)
            first = len(self.w.txns)
            getattr(self, "_" + p.kind)(p, layers, total, t0)
            mine = self.w.txns[first:]
            for t in mine:
                t.pattern = p.pid
            for layer, role in zip(layers, _roles(p), strict=True):
                for a in layer:
                    ts = [t.ts for t in mine if a in (t.src, t.dst)]
                    self.labels.append({"account": self.w.ids[a], "institution_code": self.w.bank[a],
                                        "pattern_id": p.pid, "pattern": p.kind, "role": role,
                                        "first_time": min(ts).isoformat(sep=" "),
                                        "last_time": max(ts).isoformat(sep=" ")})

    # --- helpers ---------------------------------------------------------------------------------------------
    def _send(self, ts: datetime, src: int, dst: int, amount: float) -> None:
        corp = self.w.kind[src] == "对公"
        self.w.txns.append(Txn(ts, src, dst, round(max(amount, 1.0), 2), pick(self.rng, PURPOSE_CORP if corp else
                                                                              PURPOSE_IND),
                               pick(self.rng, CHANNEL_CORP if corp else CHANNEL_IND)))

    def _jitter(self, share: float) -> float:
        return share * float(np.exp(EDGE_SIGMA * self.rng.standard_normal()))

    def _within(self, t0: datetime) -> datetime:
        day = t0.date() + timedelta(days=int(self.rng.integers(0, self.rng.integers(*SPAN_DAYS) + 1)))
        return _clip(moment(self.rng, day, False), self.w)

    def _later(self, t: datetime) -> datetime:
        return _clip(t + timedelta(hours=float(self.rng.uniform(*HOP_DAYS)) * 24), self.w)

    def _cut(self) -> float:
        return float(self.rng.uniform(*CUT))

    # --- the eight typologies ----------------------------------------------------------------------------------
    def _fan_out(self, p: Plan, layers: list[list[int]], total: float, t0: datetime) -> None:
        (hub,), spokes = layers
        for s in spokes:
            self._send(self._within(t0), hub, s, self._jitter(total / len(spokes)))

    def _fan_in(self, p: Plan, layers: list[list[int]], total: float, t0: datetime) -> None:
        spokes, (hub,) = layers
        for s in spokes:
            self._send(self._within(t0), s, hub, self._jitter(total / len(spokes)))

    def _cycle(self, p: Plan, layers: list[list[int]], total: float, t0: datetime) -> None:
        (ring,), t, amount = layers, t0, total
        for i, a in enumerate(ring):
            self._send(t, a, ring[(i + 1) % len(ring)], amount)
            t, amount = self._later(t), amount * self._cut()

    def _bipartite(self, p: Plan, layers: list[list[int]], total: float, t0: datetime) -> None:
        origins, dests = layers
        edges = [(o, d) for o in origins for d in dests if self.rng.random() < 0.85]
        for o in origins:                    # every member takes part
            if not any(e[0] == o for e in edges):
                edges.append((o, dests[int(self.rng.integers(len(dests)))]))
        for d in dests:
            if not any(e[1] == d for e in edges):
                edges.append((origins[int(self.rng.integers(len(origins)))], d))
        for o, d in edges:
            self._send(self._within(t0), o, d, self._jitter(total / len(edges)))

    def _stack(self, p: Plan, layers: list[list[int]], total: float, t0: datetime) -> None:
        first, mid, last = layers
        got = {m: [] for m in mid}
        for o in first:
            for m in mid:
                t = self._within(t0)
                amount = self._jitter(total / (len(first) * len(mid)))
                self._send(t, o, m, amount)
                got[m].append((t, amount))
        for m in mid:
            t, amount = max(x[0] for x in got[m]), sum(x[1] for x in got[m]) * self._cut()
            for d in last:
                self._send(self._later(t), m, d, self._jitter(amount / len(last)))

    def _scatter_gather(self, p: Plan, layers: list[list[int]], total: float, t0: datetime) -> None:
        (src,), mid, (sink,) = layers
        for m in mid:
            t, amount = self._within(t0), self._jitter(total / len(mid))
            self._send(t, src, m, amount)
            self._send(self._later(t), m, sink, amount * self._cut())

    def _gather_scatter(self, p: Plan, layers: list[list[int]], total: float, t0: datetime) -> None:
        senders, (hub,), receivers = layers
        times, got = [], 0.0
        for s in senders:
            t, amount = self._within(t0), self._jitter(total / len(senders))
            self._send(t, s, hub, amount)
            times.append(t)
            got += amount
        out = got * self._cut()
        for r in receivers:
            self._send(self._later(max(times)), hub, r, self._jitter(out / len(receivers)))

    def _random(self, p: Plan, layers: list[list[int]], total: float, t0: datetime) -> None:
        (members,), t, amount = layers, t0, total
        at = members[0]
        hops = int(self.rng.integers(len(members), 2 * len(members) + 1))
        unvisited = list(members[1:])
        for _ in range(hops):
            nxt = unvisited.pop() if unvisited else members[int(self.rng.integers(len(members)))]
            if nxt == at:
                continue
            self._send(t, at, nxt, amount)
            at, t, amount = nxt, self._later(t), amount * self._cut()


def _clip(t: datetime, w: World) -> datetime:
    return min(t, w.end - timedelta(seconds=1))


def fresh_needed(plans: list[Plan]) -> int:
    return int(round(n_members(plans) * FRESH_SHARE))

