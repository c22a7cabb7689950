"""The regulator's penalties feed (``penalties``): institutions are penalised more often the lower their
latent health a quarter earlier; some decisions name people too, a few are corrected later."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from simulator.external import vocab
from simulator.external.clock import CST, DAY, iso_date, rand_ts
from simulator.external.naming import authority_name
from simulator.external.schema import SPECS


class PenaltyFeed:
    """A part of :class:`~simulator.external.feeds.Feeds` (mixed in): uses the arrays ``Feeds._prepare`` sets
    and appends to ``self.versions``."""

    # ---- penalties --------------------------------------------------------------------------------
    def _penalties_month(self, o: int) -> list[dict]:
        """Penalties decided in month ``o``; returns the institution penalties (for the news)."""
        rng = self._rng("penalties", o)
        zl = self._z(o, 1)
        rate = np.minimum(0.04 * np.exp(-0.9 * zl + rng.normal(0, 0.5, self.ni)), 1.5)
        k = rng.poisson(rate)
        inst = np.repeat(np.arange(self.ni), k)
        m = len(inst)
        severe_p = 1 / (1 + np.exp(1.5 + 1.2 * zl[inst]))
        severe = rng.random(m) < severe_p
        decided = rand_ts(rng, o, m)
        publish = decided + rng.integers(3, 21, m) * DAY
        amount = np.round(rng.lognormal(np.log(40), 0.7, m) * np.where(severe, 2.5, 1.0) / 5) * 5 * 10_000
        n_people = np.where(rng.random(m) < 0.6, rng.integers(1, 3, m), 0)
        corrected = rng.random(m) < 0.03
        t_correct = publish + rng.integers(30, 120, m) * DAY
        out_news = []
        for e, i in enumerate(inst.tolist()):
            pool = list(vocab.REASONS_COMMON)
            if self.i_type[i] == "insurer":
                pool = list(vocab.REASONS_INSURER) + pool[:4]
            elif self.i_type[i] == "trust":
                pool = list(vocab.REASONS_TRUST) + pool[:4]
            nr = int(rng.integers(1, 4))
            reasons = list(rng.choice(pool, size=min(nr, len(pool)), replace=False))
            if severe[e]:
                reasons.insert(0, str(rng.choice(vocab.REASONS_SEVERE)))
            reason_text = "；".join(reasons)
            bureau = self.i_bureau[i]
            year = datetime.fromtimestamp(int(decided[e]), CST).year
            prefix = vocab.PROVINCE_CHAR.get(bureau, "")
            ddate = iso_date(int(decided[e]))

            def dec_no() -> str:
                return f"{prefix}金罚决字〔{year}〕{self._next(f'pen{bureau}{year}')}号"  # noqa: B023

            base = {"party_name": self.i_name[i], "institution_code": self.i_code[i],
                    "authority": authority_name(bureau), "bureau_code": bureau, "decision_date": ddate,
                    "reasons": reason_text, "status": "有效", "version": 1}
            no = dec_no()
            rec = {"decision_no": no, "party_type": "机构", **base, "party_uscc": self.i_uscc[i],
                   "party_position": None, "penalty_kind": "罚款" if rng.random() < 0.8 else "警告并罚款",
                   "amount_cny": float(amount[e])}
            self._add_penalty(rec, int(publish[e]), bool(corrected[e]), int(t_correct[e]))
            out_news.append({"i": i, "ts": int(publish[e]), "amount": float(amount[e]), "reason": reasons[0],
                             "authority": base["authority"]})
            for _ in range(int(n_people[e])):
                j = int(rng.integers(0, self.np_))
                u = rng.random()
                if u < 0.5:
                    kind, amt = "警告", 0.0
                elif u < 0.85:
                    kind, amt = "警告并罚款", float(rng.integers(5, 11) * 10_000)
                else:
                    yrs = int(rng.integers(1, 11))
                    kind, amt = ("禁止终身从事银行业工作" if yrs == 10 else f"禁止从事银行业工作{yrs}年"), 0.0
                prec = {"decision_no": dec_no(), "party_type": "个人", **base, "party_name": self.p_name[j],
                        "party_uscc": None, "party_position": str(rng.choice(vocab.POSITIONS)), "penalty_kind": kind,
                        "amount_cny": amt}
                self._add_penalty(prec, int(publish[e]), False, 0)
        return out_news

    def _add_penalty(self, rec: dict, ts: int, corrected: bool, t_correct: int) -> None:
        order = SPECS["penalties"].fields
        rec = {f: rec.get(f) for f in order if f != "updated_at"}
        out = self.versions["penalties"]
        out.append((ts, rec["decision_no"], self._add_ts(rec, ts)))
        if corrected:
            rec2 = {**rec, "status": "已更正", "amount_cny": round(rec["amount_cny"] * 0.8, -4), "version": 2}
            out.append((t_correct, rec["decision_no"], self._add_ts(rec2, t_correct)))
