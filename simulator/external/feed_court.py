"""The court enforcement feed (``court_enforcement``): firms with overdue loans and scheme firms around
their collapse appear more; cases move onto the dishonest list and close later (new versions)."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from simulator.external import vocab
from simulator.external.clock import CST, DAY, iso_date, rand_ts
from simulator.external.naming import city_of, mask_resident_id


class CourtFeed:
    """A part of :class:`~simulator.external.feeds.Feeds` (mixed in): uses the arrays ``Feeds._prepare`` sets
    and appends to ``self.versions``."""

    # ---- court enforcement ------------------------------------------------------------------------
    def _court_name(self, region: str, big: bool) -> str:
        city = city_of(region)
        if big:
            return f"{city}市中级人民法院"
        syl = vocab.SYLLABLES
        d = int(region[4:6]) if region[4:6].isdigit() else 0
        return f"{city}市{syl[d % len(syl)]}{syl[(d * 7 + 3) % len(syl)]}区人民法院"

    def _court_month(self, o: int) -> None:
        rng = self._rng("court_enforcement", o)
        haz = np.where(self.f_first <= o, 0.0012, 0.0)
        haz = np.where(o >= self.f_overdue, haz * 15, haz)
        haz = np.where((o >= self.f_collapse - 3) & (o < self.f_collapse), haz * 10, haz)
        haz = np.where((o >= self.f_collapse) & (o <= self.f_collapse + 6), 0.3, haz)
        n_firm = rng.poisson(haz)
        firms = np.repeat(np.arange(self.nf), n_firm)
        n_pers = int(rng.poisson(self.np_ * 0.00015))
        persons = rng.integers(0, self.np_, n_pers)
        boss = (o >= self.f_collapse) & (o <= self.f_collapse + 3) & (rng.random(self.nf) < 0.3)
        persons = np.concatenate([persons, self.f_rep[boss]])
        parties = [("企业", int(i)) for i in firms.tolist()] + [("自然人", int(j)) for j in persons.tolist()]
        m = len(parties)
        if not m:
            return
        filed = rand_ts(rng, o, m)
        publish = filed + rng.integers(DAY, 10 * DAY, m)
        scheme_party = np.array([pt == "企业" and self.is_scheme[i] for pt, i in parties])
        amount = np.round(rng.lognormal(np.where(scheme_party, 15.5, 12.5), 1.0), -2)
        amount = np.where(np.array([pt == "自然人" for pt, _ in parties]), np.round(amount / 5, -2), amount)
        p_dishonest = np.where(scheme_party, 0.8, 0.3)
        dishonest = rng.random(m) < p_dishonest
        t_dishonest = publish + rng.integers(30, 180, m) * DAY
        u_close = rng.random(m)
        t_close = np.maximum(publish, np.where(dishonest, t_dishonest, 0)) + rng.integers(60, 365, m) * DAY
        for e, (ptype, i) in enumerate(parties):
            if ptype == "企业":
                pid, pname, region = self.f_uscc[i], self.f_name[i], self.f_region[i]
                self.f_open_case[i] = True
            else:
                rid = self.p_id[i]
                pid, pname, region = mask_resident_id(rid), self.p_name[i], rid[:6]
            big = amount[e] >= 5_000_000
            pchar = vocab.PROVINCE_CHAR_BY_CODE.get(region[:2] + "0000", "")
            year = datetime.fromtimestamp(int(filed[e]), CST).year
            seq = self._next(f"case{year}{region[:4]}") + 100 + int(region[2:6]) % 700
            case_no = f"({year}){pchar}{region[2:4]}{'' if big else region[4:6]}执{seq}号"
            rec = {"case_no": case_no, "party_type": ptype, "party_id": pid, "party_name": pname,
                   "court": self._court_name(region, big), "filed_date": iso_date(int(filed[e])),
                   "amount": float(amount[e]), "list_type": vocab.LIST_EXECUTED, "status": vocab.CASE_OPEN,
                   "version": 1}
            out = self.versions["court_enforcement"]
            out.append((int(publish[e]), case_no, self._add_ts(rec, int(publish[e]))))
            if dishonest[e]:
                rec = {**rec, "list_type": vocab.LIST_DISHONEST, "version": rec["version"] + 1}
                out.append((int(t_dishonest[e]), case_no, self._add_ts(rec, int(t_dishonest[e]))))
            if u_close[e] < 0.55:
                status = vocab.CASE_CLOSED if u_close[e] < 0.35 else vocab.CASE_TERMINATED
                rec = {**rec, "status": status, "version": rec["version"] + 1}
                out.append((int(t_close[e]), case_no, self._add_ts(rec, int(t_close[e]))))
