"""The simulated universe: supervising bureaus and the institutions they supervise.

:func:`build_universe` is the only entry point. Everything downstream (health, prudential reports,
detail datasets in later issues) keys on the ``institutions`` frame it returns.

Institution codes are ``[type letter][4-digit number]`` (``B0001``), numbered within the letter from
the largest institution down; licence numbers extend them (see :func:`simulator.ids.licence_no`).
Type letters: ``B`` commercial banks (large state-owned, joint-stock, city and rural commercial),
``S`` village and township banks, ``I`` insurers, ``N`` consumer finance, ``L`` financial leasing,
``K`` trust companies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from include.registry.datasets import INSTITUTION_TYPES
from simulator import geography, ids


@dataclass(frozen=True)
class TypeProfile:
    letter: str
    weight: float  # share of the population beyond the first one of each type
    cap: int | None  # at most this many (there are only six large state-owned banks)
    tiers: dict[int, float]  # size tier -> probability
    national: bool  # supervised by HQ rather than a provincial bureau
    established: tuple[int, int]  # range of years established
    banking: bool  # a bank (deposit-taking)


TYPE_PROFILES: dict[str, TypeProfile] = {
    "large_state_bank": TypeProfile("B", 0.01, 6, {1: 1.0}, True, (2004, 2010), True),
    "joint_stock_bank": TypeProfile("B", 0.03, 12, {1: 0.3, 2: 0.7}, True, (1987, 2005), True),
    "city_commercial_bank": TypeProfile("B", 0.12, 140, {2: 0.2, 3: 0.6, 4: 0.2}, False, (1995, 2012), True),
    "rural_commercial_bank": TypeProfile("B", 0.30, None, {3: 0.3, 4: 0.6, 5: 0.1}, False, (2005, 2022),
                                         True),
    "village_bank": TypeProfile("S", 0.34, None, {5: 1.0}, False, (2007, 2021), True),
    "insurer": TypeProfile("I", 0.08, None, {2: 0.3, 3: 0.4, 4: 0.3}, False, (1991, 2016), False),
    "consumer_finance": TypeProfile("N", 0.03, 31, {3: 0.3, 4: 0.7}, False, (2010, 2020), False),
    "financial_leasing": TypeProfile("L", 0.04, 70, {3: 0.5, 4: 0.5}, False, (2008, 2018), False),
    "trust": TypeProfile("K", 0.05, 68, {3: 0.3, 4: 0.7}, False, (2002, 2012), False),
}
TYPE_ORDER: tuple[str, ...] = tuple(INSTITUTION_TYPES)
assert set(TYPE_PROFILES) == set(INSTITUTION_TYPES), "every registered type needs a profile"

# Syllables for fictitious names (two of them make a plausible brand or county name).
_SYLLABLES = tuple("安宁平阳丰泰兴和永长清新华德庆昌乐瑞祥福康盛鑫泽汇通达信诚元恒博嘉隆金鼎锦融裕开远海江川宏")

INSTITUTION_COLUMNS = (
    "institution_code", "licence_no", "uscc", "lei", "name", "institution_type", "bureau_code",
    "region_code", "province_code", "size_tier", "established_date", "file_encoding", "file_compression",
)


@dataclass
class Universe:
    """``bureaus``: one row per bureau. ``institutions``: one row per institution (columns
    :data:`INSTITUTION_COLUMNS`; ``file_encoding`` / ``file_compression`` are how the institution
    delivers its files)."""

    bureaus: pd.DataFrame
    institutions: pd.DataFrame


def allocate_type_counts(n: int, profiles: dict[str, TypeProfile] | None = None) -> dict[str, int]:
    """How many institutions of each type: one of each, then each further one to the type furthest
    below its weighted target (respecting caps). Deterministic."""
    profiles = profiles or TYPE_PROFILES
    if n < len(profiles):
        raise ValueError(f"need at least {len(profiles)} institutions (one per type), got {n}")
    total_w = sum(p.weight for p in profiles.values())
    target = {t: n * p.weight / total_w for t, p in profiles.items()}
    counts = dict.fromkeys(profiles, 1)
    order = list(profiles)
    for _ in range(n - len(profiles)):
        open_types = [t for t in order if profiles[t].cap is None or counts[t] < profiles[t].cap]
        if not open_types:
            raise ValueError("type caps leave no room for more institutions")
        best = max(open_types, key=lambda t: (target[t] - counts[t], -order.index(t)))
        counts[best] += 1
    return counts


def _pick_region(rng: np.random.Generator, itype: str) -> tuple[str, str]:
    """(region_code, province_code) for one institution."""
    if TYPE_PROFILES[itype].national:
        return geography.HEAD_OFFICE_DISTRICTS[rng.integers(len(geography.HEAD_OFFICE_DISTRICTS))]
    w = np.array([p.weight for p in geography.PROVINCES])
    prov = geography.PROVINCES[rng.choice(len(w), p=w / w.sum())]
    city_code, _ = prov.cities[rng.integers(len(prov.cities))]
    if itype in ("rural_commercial_bank", "village_bank"):
        return city_code[:4] + f"{rng.integers(2, 30):02d}", prov.code  # a county or district
    if itype == "city_commercial_bank":
        return city_code, prov.code
    return city_code[:4] + "02", prov.code  # a central district


def _name(rng: np.random.Generator, itype: str, region_code: str, province_code: str) -> str:
    s = "".join(rng.choice(_SYLLABLES, 2, replace=False))
    prov = geography.PROVINCE_BY_CODE[province_code]
    city = dict(prov.cities).get(region_code[:4] + "00", prov.name)
    match itype:
        case "large_state_bank":
            return f"中国{s}银行股份有限公司"
        case "joint_stock_bank":
            return f"{s}银行股份有限公司"
        case "city_commercial_bank":
            return f"{city}银行股份有限公司" if rng.random() < 0.5 else f"{city}{s}银行股份有限公司"
        case "rural_commercial_bank":
            return f"{prov.name}{s}农村商业银行股份有限公司"
        case "village_bank":
            sponsor = "".join(rng.choice(_SYLLABLES, 2, replace=False))
            return f"{prov.name}{s}{sponsor}村镇银行股份有限公司"
        case "insurer":
            kind = "人寿保险" if rng.random() < 0.5 else "财产保险"
            return f"{s}{kind}股份有限公司"
        case "consumer_finance":
            return f"{s}消费金融股份有限公司"
        case "financial_leasing":
            return f"{s}金融租赁股份有限公司"
        case "trust":
            return f"{prov.name}{s}信托有限责任公司"
    raise ValueError(f"unknown institution type {itype!r}")


def build_universe(
    rng: np.random.Generator,
    n_institutions: int,
    *,
    established_before: date = date(2023, 1, 1),
    gb18030_share: float = 0.25,
    gzip_share: float = 0.25,
) -> Universe:
    """Bureaus plus ``n_institutions`` institutions (at least 9: one of every registered type).

    Proportions follow :data:`TYPE_PROFILES` (few large banks, many rural and village banks). Size
    tiers follow the type; nationally supervised types sit under ``HQ``, the rest under the bureau of
    their province. Every institution gets a valid USCC (registered in its region), an LEI, a licence
    number and a delivery preference: GB18030 encoding for a share ``gb18030_share`` and gzip for a
    share ``gzip_share`` (at least one of each whenever there are at least two institutions).
    """
    counts = allocate_type_counts(n_institutions)
    bureaus = geography.bureaus()
    prov_to_bureau = {p.code: p.abbr for p in geography.PROVINCES}

    rows = []
    names: set[str] = set()
    letter_seq: dict[str, int] = {}
    for itype in TYPE_ORDER:
        prof = TYPE_PROFILES[itype]
        k = counts[itype]
        tier_keys = np.array(sorted(prof.tiers))
        tier_p = np.array([prof.tiers[t] for t in tier_keys])
        tiers = np.sort(rng.choice(tier_keys, size=k, p=tier_p / tier_p.sum()))  # largest first
        y0, y1 = prof.established
        days = (date(y1, 12, 31) - date(y0, 1, 1)).days
        est = [min(date(y0, 1, 1) + timedelta(days=int(d)), established_before - timedelta(days=1))
               for d in rng.integers(0, days + 1, size=k)]
        for tier, established in zip(tiers.tolist(), est, strict=True):
            region, prov = _pick_region(rng, itype)
            for _ in range(1000):
                name = _name(rng, itype, region, prov)
                if name not in names:
                    break
            else:  # pragma: no cover - 1000 collisions in a row means the syllable pool is exhausted
                raise RuntimeError("could not find an unused institution name")
            names.add(name)
            seq = letter_seq[prof.letter] = letter_seq.get(prof.letter, 0) + 1
            rows.append({
                "institution_code": f"{prof.letter}{seq:04d}",
                "licence_no": ids.licence_no(prof.letter, seq, region),
                "name": name,
                "institution_type": itype,
                "bureau_code": geography.HQ_BUREAU_CODE if prof.national else prov_to_bureau[prov],
                "region_code": region,
                "province_code": prov,
                "size_tier": int(tier),
                "established_date": established,
            })
    inst = pd.DataFrame(rows)
    n = len(inst)
    inst["uscc"] = ids.make_uscc(rng, n, inst["region_code"].tolist())
    inst["lei"] = ids.make_lei(rng, n)
    inst["file_encoding"] = _flag(rng, n, gb18030_share, "gb18030", "utf-8")
    inst["file_compression"] = pd.Series(_flag(rng, n, gzip_share, "gzip", None), dtype=object)
    inst["size_tier"] = inst["size_tier"].astype("int16")
    return Universe(bureaus=bureaus, institutions=inst[list(INSTITUTION_COLUMNS)])


def _flag(rng: np.random.Generator, n: int, share: float, yes: object, no: object) -> list:
    """``yes`` for about ``share`` of ``n`` rows (at least one, and at least one ``no``, when n >= 2
    and 0 < share < 1)."""
    u = rng.random(n)
    hit = u < share
    if n >= 2 and 0 < share < 1:
        if not hit.any():
            hit[np.argmin(u)] = True
        if hit.all():
            hit[np.argmax(u)] = False
    return [yes if h else no for h in hit]
