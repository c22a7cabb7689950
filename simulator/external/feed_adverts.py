"""The advert leads feed (``advert_leads``) and its hidden labels: running schemes promote guaranteed
returns under their names or variants, unregistered advertisers too; legitimate adverts are the negatives."""

from __future__ import annotations

import numpy as np

from simulator.external import vocab
from simulator.external.clock import iso, month_of, rand_ts


class AdvertFeed:
    """A part of :class:`~simulator.external.feeds.Feeds` (mixed in): uses the arrays ``Feeds._prepare`` sets
    and appends to ``self.versions``."""

    # ---- advert leads -----------------------------------------------------------------------------
    def _variant(self, rng: np.random.Generator, short: str) -> str:
        pos = [k for k, ch in enumerate(short) if ch in vocab.SIMILAR and vocab.SIMILAR[ch] != ch]
        if not pos:
            return short + "财富"
        k = pos[int(rng.integers(0, len(pos)))]
        return short[:k] + vocab.SIMILAR[short[k]] + short[k + 1:]

    def _illegal_text(self, rng: np.random.Generator, w: str, city: str) -> str:
        core = [j for j, q in enumerate(vocab.ILLEGAL_PHRASES) if q.startswith(vocab.CORE_PROMISE_PREFIXES)]
        first = core[int(rng.integers(0, len(core)))]  # at least one typical promise (maybe obfuscated)
        rest = [j for j in range(len(vocab.ILLEGAL_PHRASES)) if j != first]
        ph = [first, *rng.choice(rest, size=2, replace=False).tolist()]
        vals = {"P": int(rng.integers(12, 37)), "P2": int(rng.integers(3, 11)),
                "U": int(rng.choice([1, 2, 5, 10])) * 10_000}
        qs = [vocab.ILLEGAL_PHRASES[j].format(**vals) for j in ph]
        frame = vocab.ILLEGAL_FRAMES[int(rng.integers(0, len(vocab.ILLEGAL_FRAMES)))]
        return frame.format(W=w, C=city, Q1=qs[0], Q2=qs[1], Q3=qs[2], N=int(rng.integers(50, 2000)))

    def _adverts_month(self, o: int) -> None:
        rng = self._rng("advert_leads", o)
        leads: list[tuple] = []  # (ts, advertiser, text, label dict)
        running = np.flatnonzero(self.is_scheme & (self.f_start <= o) & (o < self.f_collapse))
        for i in running.tolist():
            for _ in range(int(rng.poisson(1.5))):
                u = rng.random()
                short = self.f_short[i]
                if u < 0.35:
                    adv, form = short, "short_name"
                elif u < 0.5:
                    adv, form = self.f_name[i], "full_name"
                elif u < 0.75:
                    adv, form = self._variant(rng, short), "variant"
                elif u < 0.9:
                    adv, form = short + str(rng.choice(vocab.ADVERT_SUFFIXES)), "short_name_suffix"
                else:
                    adv, form = f"{rng.choice(vocab.SURNAMES)}经理", "person"
                w = short if form == "person" else adv
                leads.append((adv, self._illegal_text(rng, w, self.f_city[i]),
                              {"is_illegal_fundraising_promo": True, "linked_entity_type": "firm",
                               "linked_id": self.f_uscc[i], "advertiser_form": form, "hard_case": ""}))
        # illegal promotions by advertisers not in the registry
        syl = vocab.SYLLABLES
        cities = sorted(set(self.f_city.tolist()))
        for _ in range(int(rng.poisson(2 + self.nf / 2500))):
            brand = syl[int(rng.integers(0, len(syl)))] + syl[int(rng.integers(0, len(syl)))]
            adv = brand + str(rng.choice(["财富", "资本", "理财", "金服"]))
            if adv in self.surfaces:
                continue
            leads.append((adv, self._illegal_text(rng, adv, cities[int(rng.integers(0, len(cities)))]),
                          {"is_illegal_fundraising_promo": True, "linked_entity_type": "", "linked_id": "",
                           "advertiser_form": "unregistered", "hard_case": ""}))
        # legitimate adverts (negatives), some with risk-sounding words
        for _ in range(int(rng.poisson(10 + self.nf / 250))):
            if rng.random() < 0.35:
                i = int(rng.integers(0, self.ni))
                if self.i_type[i] == "insurer":
                    tpl = vocab.LEGIT_INST[2]
                elif self.i_is_bank[i]:
                    tpl = str(rng.choice([vocab.LEGIT_INST[0], vocab.LEGIT_INST[1], vocab.LEGIT_INST[3]]))
                else:
                    tpl = vocab.LEGIT_INST[3]
                adv = self.i_short[i] if rng.random() < 0.7 else self.i_name[i]
                text = tpl.format(W=adv, Y=int(rng.integers(1, 4)), R=f"{rng.uniform(1.5, 3.5):.2f}")
                hard = "deposit_guarantee_wording" if tpl in (vocab.LEGIT_INST[0], vocab.LEGIT_INST[2]) else ""
                leads.append((adv, text, {"is_illegal_fundraising_promo": False, "linked_entity_type": "institution",
                                          "linked_id": self.i_code[i], "advertiser_form": "short_name"
                                          if adv == self.i_short[i] else "full_name", "hard_case": hard}))
            else:
                cand = np.flatnonzero(~self.is_scheme)
                if not len(cand):
                    continue
                i = int(rng.choice(cand))
                k = int(rng.integers(0, len(vocab.LEGIT_FIRM)))
                adv = self.f_short[i] if rng.random() < 0.7 else self.f_name[i]
                text = vocab.LEGIT_FIRM[k].format(W=adv, N=int(rng.integers(3, 9)),
                                                  IND=self.f_ind_name[i].split("、")[0],
                                                  U=int(rng.integers(5, 30)) * 10_000)
                hard = {3: "return_words_franchise", 4: "zero_risk_retail"}.get(k, "")
                leads.append((adv, text, {"is_illegal_fundraising_promo": False, "linked_entity_type": "firm",
                                          "linked_id": self.f_uscc[i], "advertiser_form": "short_name"
                                          if adv == self.f_short[i] else "full_name", "hard_case": hard}))
        m = len(leads)
        captured = np.sort(rand_ts(rng, o, m))
        perm = rng.permutation(m)  # timestamps (and so ids) do not follow the generation order
        platforms = rng.integers(0, len(vocab.PLATFORMS), m)
        ym = f"{month_of(o):%Y%m}"
        for e, j in enumerate(perm.tolist()):
            adv, text, label = leads[j]
            t = int(captured[e])
            lid = f"AD{ym}{self._next('lead'):06d}"
            self.versions["advert_leads"].append((t + 60, lid, self._add_ts({
                "lead_id": lid, "advertiser": adv, "platform": vocab.PLATFORMS[platforms[e]], "text": text,
                "captured_at": iso(t), "source_url": f"https://leads.example.cn/{ym}/{lid}", "version": 1}, t + 60)))
            self.advert_labels.append({"lead_id": lid, **label})
