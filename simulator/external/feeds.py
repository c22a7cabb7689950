"""The external feeds, generated month by month from :class:`ExternalInputs`.

Every record carries its natural key, ``version`` (1, then +1 per change) and ``updated_at`` (ISO 8601,
+08:00). :class:`Feeds` keeps every version of every record; what a server publishes is the latest version
per key with ``updated_at`` up to a cut-off (:meth:`Feeds.snapshot`).

Month ``m`` of feed ``f`` draws from ``stream(seed, "external", f, "YYYY-MM")`` (random numbers are drawn
vectorised over entities; records are then assembled), so building more months (:meth:`Feeds.extend`)
never changes earlier ones. A record generated for month ``m`` may carry a later ``updated_at`` (a court
case escalated months later, a penalty corrected): it is published when the cut-off passes it.

What drives what (hidden from the served records, kept in the ground truth):

* scheme firms change their registry record more often in the six months before collapse, turn
  ``经营异常`` then ``吊销`` after it; they pile up court cases around the collapse; they advertise
  guaranteed returns while running; news about them is puffery, then rumours (one to three months before
  the collapse), then 暴雷 / 跑路 / 立案.
* institutions are penalised more often the lower their latent health one quarter earlier (noisy), and
  get more negative news the lower their current health.
* firms with overdue loans appear more in court records.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from simulator import geography
from simulator.external import vocab
from simulator.external.inputs import ExternalInputs
from simulator.external.schema import FEEDS, SPECS
from simulator.periods import month_end
from simulator.rng import stream

log = logging.getLogger(__name__)

CST = timezone(timedelta(hours=8))
_NEVER = 10**7  # a month ordinal that never comes
_DAY = 86_400
_SLOT = re.compile(r"\{(\w+)\}")

Entry = tuple[int, str, dict]  # (updated_at epoch seconds, natural key, record)


# --------------------------------------------------------------------------------------------------
# time helpers: months as ordinals (year * 12 + month - 1)
# --------------------------------------------------------------------------------------------------

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


def _rand_ts(rng: np.random.Generator, o: int, n: int, *, from_day: int = 0) -> np.ndarray:
    start = month_start_ts(o)
    return start + rng.integers(from_day * _DAY, month_start_ts(o + 1) - start, n)


# --------------------------------------------------------------------------------------------------
# names
# --------------------------------------------------------------------------------------------------

_PROVINCE_NAMES = tuple(p.name for p in geography.PROVINCES)
_CITY = {c: n for p in geography.PROVINCES for c, n in p.cities}
_PROV = {p.code: p.name for p in geography.PROVINCES}
_BUREAU_NAME = dict(zip(geography.bureaus()["bureau_code"], geography.bureaus()["name"], strict=True))


def city_of(region_code: str) -> str:
    rc = str(region_code)
    return _CITY.get(rc[:4] + "00") or _PROV.get(rc[:2] + "0000") or "本地"


def institution_short_name(name: str, itype: str) -> str:
    """The name the press uses: ``浙江安宁农村商业银行股份有限公司`` -> ``安宁农商行``."""
    base = name
    for suffix in ("股份有限公司", "有限责任公司", "有限公司"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    if itype in ("rural_commercial_bank", "village_bank", "trust"):
        for p in _PROVINCE_NAMES:
            if base.startswith(p) and len(base) > len(p) + 2:
                base = base[len(p):]
                break
    if itype == "large_state_bank" and base.startswith("中国"):
        base = base[2:]
    replacements = {"农村商业银行": "农商行", "人寿保险": "人寿", "财产保险": "财险", "金融租赁": "金租",
                    "消费金融": "消金"}
    for a, b in replacements.items():
        base = base.replace(a, b)
    return base


def authority_name(bureau_code: str) -> str:
    if bureau_code == geography.HQ_BUREAU_CODE:
        return geography.HQ_BUREAU_NAME
    return f"{geography.HQ_BUREAU_NAME}{_BUREAU_NAME.get(bureau_code, f'{bureau_code}监管局')}"


def mask_resident_id(rid: str) -> str:
    return f"{rid[:6]}********{rid[-4:]}"


def _render(template: str, values: dict[str, str], entities: dict[str, tuple]) -> tuple[str, list[dict]]:
    """Fill ``{slot}``s; entity slots (``entities[slot] = (type, id, surface, form)``) are recorded with
    their character offsets in the result."""
    out: list[str] = []
    pos = 0
    mentions = []
    last = 0
    for m in _SLOT.finditer(template):
        lit = template[last:m.start()]
        out.append(lit)
        pos += len(lit)
        slot = m.group(1)
        if slot in entities:
            etype, eid, surface, form = entities[slot]
            mentions.append({"entity_type": etype, "entity_id": eid, "surface": surface, "start": pos,
                             "end": pos + len(surface), "form": form})
            val = surface
        else:
            val = str(values[slot])
        out.append(val)
        pos += len(val)
        last = m.end()
    out.append(template[last:])
    return "".join(out), mentions


# --------------------------------------------------------------------------------------------------
# the feeds
# --------------------------------------------------------------------------------------------------

class Feeds:
    """Every version of every record of every feed, plus the hidden labels.

    ``Feeds(inputs)`` builds the months of ``inputs``; :meth:`extend` builds further months (the world
    carried forward: last known health, schemes on their planned dates).
    """

    def __init__(self, inputs: ExternalInputs, *, extra_months: int = 0) -> None:
        self.inputs = inputs
        self.seed = inputs.seed
        self.versions: dict[str, list[Entry]] = {f: [] for f in FEEDS}
        self.news_labels: list[dict] = []
        self.news_mentions: list[dict] = []
        self.advert_labels: list[dict] = []
        self.month_ords: list[int] = []
        self._seq: dict[str, int] = {}
        self._prepare()
        self._registry_initial()
        first, last = mord(inputs.months[0]), mord(inputs.months[-1])
        for o in range(first, last + 1):
            self._build_month(o)
        self.extend(extra_months)

    # ---- public -----------------------------------------------------------------------------------
    @property
    def months(self) -> list[date]:
        return [month_of(o) for o in self.month_ords]

    def extend(self, n: int = 1) -> None:
        """Build ``n`` more months."""
        for _ in range(int(n)):
            self._build_month(self.month_ords[-1] + 1)

    def snapshot(self, feed: str, through_ts: int) -> list[Entry]:
        """The latest version of each record with ``updated_at <= through_ts``, ordered by
        (updated_at, natural key)."""
        latest: dict[str, Entry] = {}
        for e in self.versions[feed]:
            if e[0] <= through_ts:
                cur = latest.get(e[1])
                if cur is None or e[2]["version"] > cur[2]["version"]:
                    latest[e[1]] = e
        return sorted(latest.values(), key=lambda e: (e[0], e[1]))

    def counts(self) -> dict[str, dict[str, int]]:
        return {f: {"versions": len(v), "keys": len({e[1] for e in v})} for f, v in self.versions.items()}

    def write_ground_truth(self, ground_truth_dir: Path, *, malformed: list[dict] | None = None,
                           extra: dict | None = None) -> list[Path]:
        """Write the hidden labels into ``ground_truth_dir``:

        * ``external_news_labels.csv``: news_id, tone (negative/neutral/positive), category, hard_case
        * ``external_news_mentions.csv``: news_id, entity_type (firm/institution), entity_id (uscc /
          institution_code), surface, start, end (offsets in ``text``), form (full/short), ambiguous
          (the surface names more than one entity)
        * ``external_advert_labels.csv``: lead_id, is_illegal_fundraising_promo, linked_entity_type,
          linked_id, advertiser_form, hard_case
        * ``external_malformed.csv`` (if ``malformed`` is given): feed, key, version, updated_at, kind, field
        * ``external_feeds.json``: seed, months, counts, and ``extra``
        """
        gt = Path(ground_truth_dir)
        gt.mkdir(parents=True, exist_ok=True)
        out = [
            _write_csv(gt / "external_news_labels.csv", self.news_labels,
                       ("news_id", "tone", "category", "hard_case")),
            _write_csv(gt / "external_news_mentions.csv", self.news_mentions,
                       ("news_id", "entity_type", "entity_id", "surface", "start", "end", "form", "ambiguous")),
            _write_csv(gt / "external_advert_labels.csv", self.advert_labels,
                       ("lead_id", "is_illegal_fundraising_promo", "linked_entity_type", "linked_id",
                        "advertiser_form", "hard_case")),
        ]
        if malformed is not None:
            out.append(_write_csv(gt / "external_malformed.csv", malformed,
                                  ("feed", "key", "version", "updated_at", "kind", "field")))
        summary = {"generator": "simulator.external", "seed": self.seed,
                   "months": [m.isoformat() for m in self.months], "counts": self.counts(), **(extra or {})}
        path = gt / "external_feeds.json"
        _atomic_write(path, (json.dumps(summary, ensure_ascii=False, indent=2) + "\n").encode())
        out.append(path)
        return out

    # ---- preparation ------------------------------------------------------------------------------
    def _rng(self, feed: str, o: int | str) -> np.random.Generator:
        tag = o if isinstance(o, str) else f"{month_of(o):%Y-%m}"
        return stream(self.seed, "external", feed, tag)

    def _next(self, counter: str) -> int:
        self._seq[counter] = self._seq.get(counter, 0) + 1
        return self._seq[counter]

    def _prepare(self) -> None:
        x = self.inputs
        f, p, ins = x.firms.reset_index(drop=True), x.persons.reset_index(drop=True), x.institutions
        ins = ins.reset_index(drop=True)
        self.nf, self.np_, self.ni = len(f), len(p), len(ins)
        self.f_uscc = f["uscc"].astype(str).to_numpy()
        self.f_name = f["name"].astype(str).to_numpy()
        self.f_short = f["short_name"].astype(str).to_numpy()
        self.f_region = f["region_code"].astype(str).to_numpy()
        self.f_ind_code = f["industry_code"].astype(str).to_numpy()
        self.f_ind_name = f["industry_name"].astype(str).to_numpy()
        self.f_capital = f["registered_capital"].astype(float).to_numpy().copy()
        self.f_status = f["status"].astype(str).to_numpy().astype(object)
        # a pandas Timestamp is a datetime is a date: serve the date, never "YYYY-MM-DDT00:00:00"
        founded = [d.date() if isinstance(d, datetime) else d if isinstance(d, date)
                   else datetime.fromisoformat(str(d)[:10]).date() for d in f["founded_date"]]
        self.f_founded = np.array([mord(d) for d in founded])
        self.f_founded_iso = [d.isoformat() for d in founded]
        self.p_id = p["resident_id"].astype(str).to_numpy()
        self.p_name = p["name"].astype(str).to_numpy()
        pidx = {r: i for i, r in enumerate(self.p_id.tolist())}
        rng = self._rng("registry", "prepare")
        rep = [pidx.get(str(r), -1) for r in f["legal_rep_resident_id"]]
        fallback = rng.integers(0, self.np_, self.nf)
        self.f_rep = np.where(np.array(rep) >= 0, rep, fallback)
        self.f_version = np.zeros(self.nf, dtype=np.int64)
        self.f_city = np.array([city_of(r) for r in self.f_region.tolist()], dtype=object)
        road = np.array(vocab.ROADS)[rng.integers(0, len(vocab.ROADS), self.nf)]
        num = rng.integers(1, 999, self.nf)
        self.f_address = [
            f"{'' if _PROV.get(r[:2] + '0000', c) == c else _PROV.get(r[:2] + '0000', '') + '省'}{c}市{rd}路{n}号"
            for r, c, rd, n in zip(self.f_region.tolist(), self.f_city.tolist(), road.tolist(), num.tolist(),
                                   strict=True)]

        self.i_code = ins["institution_code"].astype(str).to_numpy()
        self.i_name = ins["name"].astype(str).to_numpy()
        self.i_type = ins["institution_type"].astype(str).to_numpy()
        self.i_bureau = ins["bureau_code"].astype(str).to_numpy()
        self.i_region = ins["region_code"].astype(str).to_numpy()
        self.i_uscc = ins["uscc"].astype(str).to_numpy()
        self.i_short = np.array([institution_short_name(n, t) for n, t in zip(self.i_name, self.i_type, strict=True)],
                                dtype=object)
        self.i_city = np.array([city_of(r) for r in self.i_region.tolist()], dtype=object)
        self.i_is_bank = ~np.isin(self.i_type, ["insurer", "consumer_finance", "financial_leasing", "trust"])

        # health matrix [institution, quarter]
        qh = x.quarter_health
        qs = sorted(set(qh["period"]))
        self.q_ords = np.array([mord(q) for q in qs])
        self.z = np.zeros((self.ni, max(1, len(qs))))
        ipos = {c: i for i, c in enumerate(self.i_code.tolist())}
        qpos = {q: j for j, q in enumerate(qs)}
        for c, q, z in zip(qh["institution_code"], qh["period"], qh["z"], strict=True):
            if c in ipos:
                self.z[ipos[c], qpos[q]] = z
        if not len(qs):
            self.q_ords = np.array([mord(x.months[0])])

        # schemes and overdue firms, per firm
        fpos = {u: i for i, u in enumerate(self.f_uscc.tolist())}
        self.f_start = np.full(self.nf, _NEVER)
        self.f_collapse = np.full(self.nf, _NEVER)
        self.f_investors = np.zeros(self.nf, dtype=np.int64)
        for r in x.schemes.itertuples(index=False):
            i = fpos.get(str(r.firm_uscc))
            if i is None:
                continue
            self.f_start[i] = mord(r.start_month)
            self.f_collapse[i] = mord(r.collapse_month) if r.collapse_month is not None else _NEVER
            self.f_investors[i] = int(r.n_investors)
        self.is_scheme = self.f_start < _NEVER
        self.f_overdue = np.full(self.nf, _NEVER)
        for u, m in zip(x.overdue_firms["uscc"], x.overdue_firms["first_overdue_month"], strict=True):
            if str(u) in fpos and m is not None:
                self.f_overdue[fpos[str(u)]] = mord(m)
        # planned registry status events of scheme firms after their collapse
        self.f_abnormal = np.where(self.f_collapse < _NEVER, self.f_collapse + rng.integers(0, 3, self.nf), _NEVER)
        self.f_revoked = np.where(self.f_collapse < _NEVER, self.f_collapse + rng.integers(6, 13, self.nf), _NEVER)

        # surface -> entities, for the ambiguity flag of mentions
        self.surfaces: dict[str, set[str]] = {}
        for names, ids_ in ((self.f_name, self.f_uscc), (self.f_short, self.f_uscc), (self.i_name, self.i_code),
                            (self.i_short, self.i_code)):
            for s, e in zip(names.tolist(), ids_.tolist(), strict=True):
                self.surfaces.setdefault(s, set()).add(e)
        self.f_open_case = np.zeros(self.nf, dtype=bool)
        self.first_ord = max(mord(x.months[0]), 0)

    def _z(self, o: int, lag_quarters: int) -> np.ndarray:
        """Latent health at the last quarter end on or before month ``o`` minus the lag (the current
        quarter for lag 0), carried forward past the last quarter."""
        if lag_quarters == 0:
            j = np.searchsorted(self.q_ords, o, side="left")
        else:
            j = np.searchsorted(self.q_ords, o - 3 * lag_quarters, side="right") - 1
        return self.z[:, int(np.clip(j, 0, self.z.shape[1] - 1))]

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
        later = np.array([month_start_ts(o) for o in self.f_first]) + rng.integers(0, 28 * _DAY, self.nf)
        ts = np.where(self.f_first == self.first_ord, first_day, later)
        self.f_version[:] = 1
        self.versions["registry"] = [(int(t), self.f_uscc[i], self._add_ts(self._registry_record(i), int(t)))
                                     for i, t in enumerate(ts.tolist())]

    @staticmethod
    def _add_ts(rec: dict, ts: int) -> dict:
        rec["updated_at"] = iso(ts)
        return rec

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
        ts = _rand_ts(rng, o, m, from_day=1)
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
        filed = _rand_ts(rng, o, m)
        publish = filed + rng.integers(_DAY, 10 * _DAY, m)
        scheme_party = np.array([pt == "企业" and self.is_scheme[i] for pt, i in parties])
        amount = np.round(rng.lognormal(np.where(scheme_party, 15.5, 12.5), 1.0), -2)
        amount = np.where(np.array([pt == "自然人" for pt, _ in parties]), np.round(amount / 5, -2), amount)
        p_dishonest = np.where(scheme_party, 0.8, 0.3)
        dishonest = rng.random(m) < p_dishonest
        t_dishonest = publish + rng.integers(30, 180, m) * _DAY
        u_close = rng.random(m)
        t_close = np.maximum(publish, np.where(dishonest, t_dishonest, 0)) + rng.integers(60, 365, m) * _DAY
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
        decided = _rand_ts(rng, o, m)
        publish = decided + rng.integers(3, 21, m) * _DAY
        amount = np.round(rng.lognormal(np.log(40), 0.7, m) * np.where(severe, 2.5, 1.0) / 5) * 5 * 10_000
        n_people = np.where(rng.random(m) < 0.6, rng.integers(1, 3, m), 0)
        corrected = rng.random(m) < 0.03
        t_correct = publish + rng.integers(30, 120, m) * _DAY
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
            return int(_rand_ts(rng, o, 1)[0])

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
                items.append((pn["ts"] + int(rng.integers(3600, 3 * _DAY)), "negative", "penalty", "",
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
            text, mentions = _render(template, values, ents)
            text = text[:300]
            title = re.split(r"[，。！]", _render(body, values, ents)[0], maxsplit=1)[0][:40]
            self.versions["news"].append((t + 300, nid, self._add_ts({
                "news_id": nid, "source": media, "published_at": iso(t), "title": title, "text": text,
                "url": f"https://news.example.cn/{ym}/{nid}.html", "version": 1}, t + 300)))
            self.news_labels.append({"news_id": nid, "tone": tone, "category": cat, "hard_case": hard})
            for mt in mentions:
                if mt["end"] <= len(text):
                    self.news_mentions.append({"news_id": nid, **mt,
                                               "ambiguous": len(self.surfaces.get(mt["surface"], ())) > 1})

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
        captured = np.sort(_rand_ts(rng, o, m))
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

    # ---- one month --------------------------------------------------------------------------------
    def _build_month(self, o: int) -> None:
        if self.month_ords and o != self.month_ords[-1] + 1:
            raise ValueError("months are built in order")
        self._registry_month(o)
        self._court_month(o)
        pn = self._penalties_month(o)
        self._news_month(o, pn)
        self._adverts_month(o)
        self.month_ords.append(o)
        log.debug("external feeds: built %s", month_of(o))


def build_feeds(inputs: ExternalInputs, *, extra_months: int = 0) -> Feeds:
    """Generate every feed for the months of ``inputs`` (plus ``extra_months``)."""
    return Feeds(inputs, extra_months=extra_months)


# --------------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------------

def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _write_csv(path: Path, rows: list[dict], columns: tuple[str, ...]) -> Path:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    _atomic_write(path, buf.getvalue().encode("utf-8"))
    return path
