"""The developers' financial disclosures feed (``developer_financials``): each real-estate developer's
quarterly balance-sheet items, as an exchange or a housing authority publishes them, one to two months
after the quarter end. Only the raw items are served (total assets and liabilities, advance receipts,
cash, short- and long-term interest-bearing debt, equity): the "three red lines" ratios, and whether
they are breached, are the pipeline's to compute. A few disclosures overstate cash and are corrected
later (version 2 carries the true figures, those of the ground truth)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.external.clock import DAY, mord, rand_ts
from simulator.external.schema import SPECS

#: Share of disclosures first published with cash overstated, then corrected.
RESTATED_SHARE = 0.04


class DeveloperFeed:
    """A part of :class:`~simulator.external.feeds.Feeds` (mixed in): uses ``self.inputs.developers``
    and ``Feeds._prepare``'s firm names, and appends to ``self.versions``."""

    def _developers_prepare(self) -> None:
        d = self.inputs.developers
        self.dev_by_quarter: dict[int, pd.DataFrame] = {}
        if d is None or not len(d):
            return
        names = dict(zip(self.f_uscc.tolist(), self.f_name.tolist(), strict=True))
        d = d[d["uscc"].astype(str).isin(names)].copy()
        d["report_period"] = pd.to_datetime(d["report_period"]).dt.date
        d["name"] = d["uscc"].astype(str).map(names)
        for q, rows in d.groupby("report_period"):
            self.dev_by_quarter[mord(q)] = rows.sort_values("uscc").reset_index(drop=True)

    def _developers_month(self, o: int) -> None:
        """Publish in month ``o`` the disclosures of the quarter that ended the month before, or two
        months before (a developer publishes its quarter within two months)."""
        rng = self._rng("developer_financials", o)
        for lag in (1, 2):
            rows = self.dev_by_quarter.get(o - lag)
            if rows is None:
                continue
            n = len(rows)
            publish_lag = self._dev_lag(o - lag, n)
            pick = np.flatnonzero(publish_lag == lag)
            ts = rand_ts(rng, o, n)
            restated = rng.random(n) < RESTATED_SHARE
            inflate = rng.uniform(1.05, 1.4, n)
            t_fix = ts + rng.integers(20, 90, n) * DAY
            for i in pick.tolist():
                self._add_disclosure(rows.iloc[i], int(ts[i]), bool(restated[i]), float(inflate[i]), int(t_fix[i]))

    def _dev_lag(self, q: int, n: int) -> np.ndarray:
        """1 or 2: the month after quarter ``q`` in which each developer publishes (fixed per quarter)."""
        return np.where(self._rng("developer_financials", f"lag-{q}").random(n) < 0.6, 1, 2)

    def _add_disclosure(self, r, ts: int, restated: bool, inflate: float, t_fix: int) -> None:
        period = r["report_period"]
        key = f"{r['uscc']}-{period.year}Q{(period.month - 1) // 3 + 1}"
        true = {"disclosure_id": key, "uscc": str(r["uscc"]), "name": str(r["name"]),
                "report_period": period.isoformat(), "total_assets": float(r["total_assets"]),
                "total_liabilities": float(r["total_liabilities"]), "advance_receipts": float(r["advance_receipts"]),
                "cash": float(r["cash"]), "short_term_debt": float(r["short_term_debt"]),
                "long_term_debt": float(r["interest_bearing_debt"] - r["short_term_debt"]),
                "equity": float(r["equity"])}
        order = [f for f in SPECS["developer_financials"].fields if f != "updated_at"]
        out = self.versions["developer_financials"]
        if restated:  # first published with cash overstated (assets and equity with it), corrected later
            extra = round(true["cash"] * (inflate - 1))
            first = {**true, "cash": true["cash"] + extra, "total_assets": true["total_assets"] + extra,
                     "equity": true["equity"] + extra, "version": 1}
            out.append((ts, key, self._add_ts({f: first.get(f) for f in order}, ts)))
            out.append((t_fix, key, self._add_ts({f: {**true, "version": 2}.get(f) for f in order}, t_fix)))
        else:
            out.append((ts, key, self._add_ts({f: {**true, "version": 1}.get(f) for f in order}, ts)))
