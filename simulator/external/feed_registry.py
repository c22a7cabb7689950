"""The business registry feeds: firms' records (``registry``) and their changes (``registry_changes``):
legal representative, capital, shareholders, status; scheme firms change more often before their
collapse and are struck off after it."""

from __future__ import annotations

import numpy as np

from simulator.external import vocab
from simulator.external.clock import DAY, iso_date, month_of, month_start_ts, rand_ts


class RegistryFeed:
    """A part of :class:`~simulator.external.feeds.Feeds` (mixed in): uses the arrays ``Feeds._prepare`` sets
    and appends to ``self.versions``."""

    # ---- registry ---------------------------------------------------------------------------------
    def _registry_record(self, i: int) -> dict:
        return {
            "uscc": self.f_uscc[i], "name": self.f_name[i], "legal_rep_name": self.p_name[self.f_rep[i]],
            "registered_capital": int(round(self.f_capital[i])), "status": self.f_status[i],
            "industry_code": self.f_ind_code[i], "industry_name": self.f_ind_name[i],
            "region_code": self.f_region[i], "address": self.f_address[i], "founded_date": self.f_founded_iso[i],
            "shareholders": [dict(s) for s in self.f_sh[i]], "version": int(self.f_version[i]),
        }

    def _shareholders(self, rng: np.random.Generator, i: int, k: int, shares: np.ndarray) -> list[dict]:
        out = [{"name": self.p_name[self.f_rep[i]], "holder_type": "自然人", "uscc": None}]
        for _ in range(k - 1):
            if rng.random() < 0.2:
                j = int(rng.integers(0, self.nf))
                out.append({"name": self.f_name[j], "holder_type": "企业法人", "uscc": self.f_uscc[j]})
            else:
                out.append({"name": self.p_name[rng.integers(0, self.np_)], "holder_type": "自然人", "uscc": None})
        pct = np.round(np.sort(shares[:k])[::-1] * 100, 2)
        pct[-1] = round(100 - pct[:-1].sum(), 2)
        for s, v in zip(out, pct.tolist(), strict=True):
            s["share_pct"] = v
        return out

    def _registry_initial(self) -> None:
        rng = self._rng("registry", "initial")
        k = np.clip(1 + rng.poisson(0.8, self.nf), 1, 4)
        g = rng.gamma(1.0, 1.0, (self.nf, 4))
        g[np.arange(4)[None, :] >= k[:, None]] = 0
        shares = g / g.sum(axis=1, keepdims=True)
        self.f_sh = [self._shareholders(rng, i, int(k[i]), shares[i]) for i in range(self.nf)]
        self.f_first = np.maximum(self.f_founded, self.first_ord)
        first_day = month_start_ts(self.first_ord) + rng.integers(0, 6 * 3600, self.nf)  # the initial load
        later = np.array([month_start_ts(o) for o in self.f_first]) + rng.integers(0, 28 * DAY, self.nf)
        ts = np.where(self.f_first == self.first_ord, first_day, later)
        self.f_version[:] = 1
        self.versions["registry"] = [(int(t), self.f_uscc[i], self._add_ts(self._registry_record(i), int(t)))
                                     for i, t in enumerate(ts.tolist())]

    def _registry_month(self, o: int) -> None:
        rng = self._rng("registry_changes", o)
        n = self.nf
        alive = (self.f_first < o) & ~np.isin(self.f_status, [vocab.STATUS_CANCELLED, vocab.STATUS_REVOKED])
        haz = np.tile(np.array([0.003, 0.003, 0.005, 0.0006]), (n, 1))
        pre = self.is_scheme & (o >= self.f_collapse - 6) & (o < self.f_collapse)
        growth = self.is_scheme & (o >= self.f_start) & (o < self.f_collapse - 6)
        haz[pre, :3] *= 8
        haz[growth, 1] *= 3
        haz[self.is_scheme, 3] = 0  # scheme firms change status on plan only
        ev = (rng.random((n, 4)) < haz) & alive[:, None]
        fi, ti = np.nonzero(ev)
        planned_abn = np.flatnonzero(alive & (self.f_abnormal == o))
        planned_rev = np.flatnonzero(alive & (self.f_revoked == o))
        fi = np.concatenate([fi, planned_abn, planned_rev])
        ti = np.concatenate([ti, np.full(len(planned_abn) + len(planned_rev), 3)])
        status_after = {}
        for i in planned_abn.tolist():
            status_after[i] = vocab.STATUS_ABNORMAL
        m = len(fi)
        ts = rand_ts(rng, o, m, from_day=1)
        new_rep = rng.integers(0, self.np_, m)
        factor = np.where(self.is_scheme[fi], rng.uniform(1.5, 6.0, m), rng.choice([0.5, 1.5, 2.0, 3.0], m))
        new_holder = rng.integers(0, self.np_, m)
        order = np.lexsort((fi, ts))
        for e in order.tolist():
            i, t, when = int(fi[e]), int(ti[e]), int(ts[e])
            if self.f_status[i] in (vocab.STATUS_CANCELLED, vocab.STATUS_REVOKED):
                continue
            ctype = vocab.CHANGE_TYPES[t]
            if t == 0:
                before = self.p_name[self.f_rep[i]]
                self.f_rep[i] = new_rep[e]
                self.f_sh[i][0] = {**self.f_sh[i][0], "name": self.p_name[new_rep[e]]}
                after = self.p_name[new_rep[e]]
            elif t == 1:
                before = f"{self.f_capital[i] / 10_000:.2f}万元"
                self.f_capital[i] = round(self.f_capital[i] * factor[e] / 10_000) * 10_000
                after = f"{self.f_capital[i] / 10_000:.2f}万元"
            elif t == 2:
                before = "；".join(s["name"] for s in self.f_sh[i])
                sh = [dict(s) for s in self.f_sh[i]]
                j = len(sh) - 1 if len(sh) > 1 else None
                newcomer = {"name": self.p_name[new_holder[e]], "holder_type": "自然人", "uscc": None}
                if j is None:
                    half = round(sh[0]["share_pct"] / 2, 2)
                    sh[0]["share_pct"] = round(sh[0]["share_pct"] - half, 2)
                    sh.append({**newcomer, "share_pct": half})
                else:
                    sh[j] = {**newcomer, "share_pct": sh[j]["share_pct"]}
                self.f_sh[i] = sh
                after = "；".join(s["name"] for s in sh)
            else:
                before = self.f_status[i]
                if i in status_after and self.f_status[i] != vocab.STATUS_ABNORMAL:
                    after = status_after.pop(i)
                elif self.is_scheme[i]:
                    after = vocab.STATUS_REVOKED
                else:
                    after = vocab.STATUS_CANCELLED
                self.f_status[i] = after
            self.f_version[i] += 1
            cid = f"RC{month_of(o):%Y%m}{self._next('change'):06d}"
            self.versions["registry_changes"].append((when, cid, self._add_ts({
                "change_id": cid, "uscc": self.f_uscc[i], "name": self.f_name[i], "change_type": ctype,
                "change_date": iso_date(when), "before": before, "after": after, "version": 1}, when)))
            self.versions["registry"].append((when, self.f_uscc[i], self._add_ts(self._registry_record(i), when)))
