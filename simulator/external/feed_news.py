"""The news feed (``news``) and its hidden labels (tone, category, entity mentions): institutions' tone
follows their health, scheme firms go from puffery to rumours to collapse, plus hard cases."""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np

from simulator.external import vocab
from simulator.external.clock import CST, DAY, iso, month_of, month_start_ts, rand_ts
from simulator.external.naming import render


class NewsFeed:
    """A part of :class:`~simulator.external.feeds.Feeds` (mixed in): uses the arrays ``Feeds._prepare`` sets
    and appends to ``self.versions``."""

    # ---- news -------------------------------------------------------------------------------------
    def _firm_ent(self, rng: np.random.Generator, i: int, p_full: float = 0.5) -> tuple:
        full = rng.random() < p_full
        return ("firm", self.f_uscc[i], self.f_name[i] if full else self.f_short[i], "full" if full else "short")

    def _inst_ent(self, rng: np.random.Generator, i: int, p_full: float = 0.5) -> tuple:
        full = rng.random() < p_full
        return ("institution", self.i_code[i], self.i_name[i] if full else self.i_short[i],
                "full" if full else "short")

    def _news_month(self, o: int, penalty_news: list[dict]) -> None:
        rng = self._rng("news", o)
        items: list[tuple] = []  # (ts, tone, category, hard_case, template, values, entities)
        mstart = month_start_ts(o)

        def ts() -> int:
            return int(rand_ts(rng, o, 1)[0])

        def pick(pool) -> str:
            return str(pool[int(rng.integers(0, len(pool)))])

        # institutions: tone from current health
        z0 = self._z(o, 0)
        k = rng.poisson(0.35, self.ni)
        p_neg = 1 / (1 + np.exp(2.0 + 1.3 * z0 + rng.normal(0, 0.4, self.ni)))
        for i in np.repeat(np.arange(self.ni), k).tolist():
            u = rng.random()
            if u < p_neg[i]:
                tone, pool = "negative", vocab.INST_NEG
            elif u < p_neg[i] + (1 - p_neg[i]) * 0.5:
                tone, pool = "neutral", vocab.INST_NEU
            else:
                tone, pool = "positive", vocab.INST_POS
            vals = {"C": self.i_city[i], "N": int(rng.integers(2, 40)), "AMT": int(rng.integers(5, 200))}
            items.append((ts(), tone, "institution", "", pick(pool), vals,
                          {"E": self._inst_ent(rng, i)}))
        for pn in penalty_news:
            if rng.random() < 0.4:
                i = pn["i"]
                items.append((pn["ts"] + int(rng.integers(3600, 3 * DAY)), "negative", "penalty", "",
                              pick(vocab.INST_PENALTY),
                              {"A": pn["authority"], "R": pn["reason"], "AMT": f"{pn['amount'] / 10_000:.0f}"},
                              {"E": self._inst_ent(rng, i)}))
        # scheme firms: puffery, then rumours, then the collapse
        for i in np.flatnonzero(self.is_scheme & (self.f_start <= o)).tolist():
            c = self.f_collapse[i]
            if o < c - 3:
                n, tone, pool, cat = rng.poisson(0.3), "positive", vocab.FIRM_SCHEME_PUFF, "scheme_growth"
            elif o < c:
                n, tone, pool, cat = rng.poisson(0.8), "negative", vocab.FIRM_SCHEME_RUMOR, "scheme_distress"
            elif o <= c + 2:
                n, tone, pool, cat = rng.poisson(2.0), "negative", vocab.FIRM_SCHEME_COLLAPSE, "scheme_collapse"
            else:
                continue
            for _ in range(int(n)):
                vals = {"C": self.f_city[i], "IND": self.f_ind_name[i].split("、")[0],
                        "N": int(self.f_investors[i] or rng.integers(100, 3000)),
                        "AMT": f"{max(self.f_investors[i], 100) * rng.uniform(5, 20) / 10_000:.1f}"}
                items.append((ts(), tone, cat, "", pick(pool), vals, {"E": self._firm_ent(rng, i)}))
        # other firms
        active = np.flatnonzero(~self.is_scheme & (self.f_first <= o))
        if len(active):
            for i in rng.choice(active, size=int(rng.poisson(self.nf * 0.006)), replace=True).tolist():
                troubled = self.f_open_case[i] or o >= self.f_overdue[i]
                u = rng.random()
                if (troubled and u < 0.6) or u < 0.05:
                    tone, pool = "negative", vocab.FIRM_NEG
                elif u < 0.7:
                    tone, pool = "neutral", vocab.FIRM_NEU
                else:
                    tone, pool = "positive", vocab.FIRM_POS
                vals = {"C": self.f_city[i], "IND": self.f_ind_name[i].split("、")[0],
                        "N": int(rng.integers(10, 300)), "AMT": int(rng.integers(1, 50))}
                items.append((ts(), tone, "firm", "", pick(pool), vals, {"E": self._firm_ent(rng, i)}))
        # hard cases
        healthy_f = np.flatnonzero(~self.is_scheme & ~self.f_open_case & (self.f_overdue > o) & (self.f_first <= o))
        healthy_i = np.flatnonzero(z0 > -0.5)
        scale = 1 + self.nf / 2000
        for hard, pool, tone in (("negation", vocab.NEGATION, "neutral"),
                                 ("risk_word_other_sense", vocab.OTHER_SENSE, "positive")):
            for _ in range(int(rng.poisson(scale))):
                use_inst = len(healthy_i) and (rng.random() < 0.3 or not len(healthy_f))
                if use_inst:
                    i = int(rng.choice(healthy_i))
                    ent, city = self._inst_ent(rng, i), self.i_city[i]
                elif len(healthy_f):
                    i = int(rng.choice(healthy_f))
                    ent, city = self._firm_ent(rng, i), self.f_city[i]
                else:
                    continue
                items.append((ts(), tone, "hard_case", hard, pick(pool), {"C": city, "N": int(rng.integers(3, 30))},
                              {"E": ent}))
        all_cities = sorted(set(self.f_city.tolist()) | set(self.i_city.tolist()))
        for _ in range(int(rng.poisson(3 + self.nf / 1000))):
            city = all_cities[int(rng.integers(0, len(all_cities)))]
            if self.ni >= 2 and rng.random() < 0.3:
                a, b = rng.choice(self.ni, size=2, replace=False).tolist()
                items.append((ts(), "neutral", "industry", "industry_news", pick(vocab.INDUSTRY_NEWS_WITH_INST),
                              {"C": city}, {"E": self._inst_ent(rng, a), "E2": self._inst_ent(rng, b)}))
            else:
                items.append((ts(), "neutral", "industry", "industry_news", pick(vocab.INDUSTRY_NEWS), {"C": city},
                              {}))
        items.sort(key=lambda it: it[0])
        ym = f"{month_of(o):%Y%m}"
        for t, tone, cat, hard, body, vals, ents in items:
            t = max(int(t), mstart)
            nid = f"NW{ym}{self._next('news'):06d}"
            city = vals.get("C", "本地")
            lead = pick(vocab.LEADS_IN)
            media = pick(vocab.MEDIA).replace("{city}", city)
            pool = vocab.FILLERS[tone]
            order = rng.permutation(len(pool)).tolist()
            fillers = []
            while order and (len(lead) + len(body) + sum(map(len, fillers)) < 70 or rng.random() < 0.3):
                fillers.append(pool[order.pop()])
            if "IND" in vals and rng.random() < 0.4:  # background with a coreference, not a mention
                fillers.insert(0, "据公开资料，该公司注册地位于{C}，所属行业为{IND}。")
            template = lead + body + "".join(fillers)
            values = {"media": media, "date": datetime.fromtimestamp(t, CST).strftime("%-m月%-d日"), "city": city,
                      "C": city, "N": "", "AMT": "", "R": "", "A": "", **vals}
            text, mentions = render(template, values, ents)
            text = text[:300]
            title = re.split(r"[，。！]", render(body, values, ents)[0], maxsplit=1)[0][:40]
            self.versions["news"].append((t + 300, nid, self._add_ts({
                "news_id": nid, "source": media, "published_at": iso(t), "title": title, "text": text,
                "url": f"https://news.example.cn/{ym}/{nid}.html", "version": 1}, t + 300)))
            self.news_labels.append({"news_id": nid, "tone": tone, "category": cat, "hard_case": hard})
            for mt in mentions:
                if mt["end"] <= len(text):
                    self.news_mentions.append({"news_id": nid, **mt,
                                               "ambiguous": len(self.surfaces.get(mt["surface"], ())) > 1})
