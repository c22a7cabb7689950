"""The non-financial population: persons, firms, their shareholders, and developers' balance sheets.

These are the customers of the supervised institutions (accounts, loans, guarantees, transactions)
and the subjects of the external feeds (enterprise registry, courts, news). Columns are fixed because
other modules (and the external-feed server) code against them:

* ``persons``: resident_id, name, birth_date, sex (M/F), region_code, phone
* ``firms``: uscc, name, short_name, industry_code, industry_name, region_code, registered_capital
  (CNY, whole yuan), founded_date, status (存续/注销/吊销), legal_rep_resident_id, is_developer
* ``shareholders``: firm_uscc, shareholder_type (person/firm), shareholder_id (resident ID or USCC),
  shareholder_name, share_pct (sums to 100 per firm)
* ``developer_financials``: per developer and quarter the "three red lines" inputs (CNY, whole yuan):
  total_assets, total_liabilities, advance_receipts, cash, short_term_debt, interest_bearing_debt,
  equity; plus the three ratios and whether each line is breached.

All draws are vectorised over the population.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from simulator import geography, ids
from simulator.names import person_names, unique_brands
from simulator.rng import Extension

#: GB/T 4754-2017 sections used for firms: code -> (name, weight, words used in firm names).
INDUSTRIES: dict[str, tuple[str, float, tuple[str, ...]]] = {
    "A": ("农、林、牧、渔业", 0.025, ("农业", "生态农业", "农业科技")),
    "B": ("采矿业", 0.005, ("矿业",)),
    "C": ("制造业", 0.22, ("机械制造", "电子", "新材料", "食品", "精密制造", "化工")),
    "D": ("电力、热力、燃气及水生产和供应业", 0.006, ("能源", "热力")),
    "E": ("建筑业", 0.07, ("建设", "建筑工程", "市政工程")),
    "F": ("批发和零售业", 0.24, ("贸易", "商贸", "供应链管理", "百货")),
    "G": ("交通运输、仓储和邮政业", 0.04, ("物流", "运输", "仓储")),
    "H": ("住宿和餐饮业", 0.04, ("餐饮管理", "酒店管理")),
    "I": ("信息传输、软件和信息技术服务业", 0.07, ("网络科技", "信息技术", "软件")),
    "K": ("房地产业", 0.03, ("物业管理", "房地产经纪")),
    "L": ("租赁和商务服务业", 0.10, ("投资管理", "商务咨询", "企业管理", "资产管理")),
    "M": ("科学研究和技术服务业", 0.06, ("科技", "技术服务")),
    "N": ("水利、环境和公共设施管理业", 0.006, ("环境工程", "环保科技")),
    "O": ("居民服务、修理和其他服务业", 0.03, ("家政服务", "养老服务")),
    "P": ("教育", 0.01, ("教育科技", "培训")),
    "Q": ("卫生和社会工作", 0.012, ("健康管理", "医疗科技")),
    "R": ("文化、体育和娱乐业", 0.02, ("文化传媒", "文化旅游")),
}
DEVELOPER_WORDS = ("房地产开发", "置业", "地产")
FIRM_STATUSES = ("存续", "注销", "吊销")

PERSON_COLUMNS = ("resident_id", "name", "birth_date", "sex", "region_code", "phone")
FIRM_COLUMNS = ("uscc", "name", "short_name", "industry_code", "industry_name", "region_code",
                "registered_capital", "founded_date", "status", "legal_rep_resident_id", "is_developer")

_PHONE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                   "158", "159", "166", "176", "177", "180", "181", "182", "186", "187", "188", "189", "199")


def _cities() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(city code, city name, weight) over every city, weighted by its province's weight."""
    codes, names, w = [], [], []
    for p in geography.PROVINCES:
        for c, name in p.cities:
            codes.append(c)
            names.append(name)
            w.append(p.weight / len(p.cities) ** 0.5)
    w = np.array(w)
    return np.array(codes), np.array(names, dtype=object), w / w.sum()


def random_regions(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(county-level region code, city name) for ``n`` entities."""
    codes, names, w = _cities()
    pick = rng.choice(len(codes), size=n, p=w)
    county = rng.integers(2, 25, size=n)
    region = np.char.add(np.char.ljust(np.array([c[:4] for c in codes])[pick], 4),
                         np.char.zfill(county.astype(str), 2))
    return region.astype(object), names[pick]


def _unique_ids(make, n: int, max_rounds: int = 20) -> np.ndarray:
    """Call ``make(mask)`` -> new values for the rows in ``mask`` until all values are distinct."""
    out = np.asarray(make(np.ones(n, dtype=bool)), dtype=object)
    for _ in range(max_rounds):
        _, first = np.unique(out.astype(str), return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            return out
        out[dup] = np.asarray(make(dup), dtype=object)
    raise RuntimeError("could not make unique identifiers")  # pragma: no cover


def build_persons(rng: np.random.Generator, n: int, as_of: date, *, elderly_share: float = 0.2) -> pd.DataFrame:
    """``n`` persons. Exactly ``round(elderly_share * n)`` are aged 60 to 92 at ``as_of`` (skewed
    young-old), the rest 18 to 59. IDs and phones are unique."""
    n_old = int(round(elderly_share * n))
    age_young = rng.choice(np.arange(18, 60), size=n - n_old,
                           p=_norm(np.interp(np.arange(18, 60), [18, 25, 35, 50, 59], [0.5, 1.0, 1.1, 1.0, 0.9])))
    age_old = rng.choice(np.arange(60, 93), size=n_old,
                         p=_norm(np.interp(np.arange(60, 93), [60, 70, 80, 92], [1.0, 0.8, 0.35, 0.05])))
    age = rng.permutation(np.concatenate([age_young, age_old]))
    as_of64 = np.datetime64(as_of, "D")
    # birth date: as_of minus age years minus 0..364 days (so the age at as_of is exactly ``age``)
    years = (np.datetime64(as_of, "Y") - age.astype("timedelta64[Y]"))
    bday = years.astype("datetime64[D]") + (as_of64 - np.datetime64(as_of, "Y").astype("datetime64[D]"))
    birth = bday - rng.integers(0, 365, size=n).astype("timedelta64[D]")
    sex = np.where(rng.random(n) < 0.5, "M", "F").astype(object)
    region, _ = random_regions(rng, n)

    def make_ids(mask: np.ndarray) -> list[str]:
        return ids.make_resident_ids(rng, birth[mask], region[mask].astype(str), sex[mask])

    resident_id = _unique_ids(make_ids, n)
    pref = np.array(_PHONE_PREFIXES, dtype=object)[rng.integers(len(_PHONE_PREFIXES), size=n)]
    body = rng.choice(10**8, size=n, replace=False)
    phone = pref + np.char.zfill(body.astype(str), 8).astype(object)
    return pd.DataFrame({
        "resident_id": resident_id, "name": person_names(rng, n), "birth_date": birth,
        "sex": sex, "region_code": region, "phone": phone,
    })[list(PERSON_COLUMNS)]


def _norm(w) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    return w / w.sum()


def ages_at(birth_dates, when: date) -> np.ndarray:
    """Whole years of age at ``when``."""
    b = pd.to_datetime(pd.Series(birth_dates)).dt
    w = pd.Timestamp(when)
    before = (b.month > w.month) | ((b.month == w.month) & (b.day > w.day))
    return (w.year - b.year - before.astype(int)).to_numpy()


def build_firms(rng: np.random.Generator, n: int, persons: pd.DataFrame, as_of: date, *,
                developer_share: float = 0.04) -> pd.DataFrame:
    """``n`` firms with unique USCCs, names and short names (see module docstring for columns)."""
    codes = list(INDUSTRIES)
    w = _norm([INDUSTRIES[c][1] for c in codes])
    industry = np.array(codes, dtype=object)[rng.choice(len(codes), size=n, p=w)]
    n_dev = max(1, int(round(developer_share * n)))
    is_dev = np.zeros(n, dtype=bool)
    is_dev[rng.choice(n, size=n_dev, replace=False)] = True
    industry[is_dev] = "K"
    word = np.empty(n, dtype=object)
    for c in codes:
        m = industry == c
        words = np.array(INDUSTRIES[c][2], dtype=object)
        word[m] = words[rng.integers(len(words), size=int(m.sum()))]
    word[is_dev] = np.array(DEVELOPER_WORDS, dtype=object)[rng.integers(len(DEVELOPER_WORDS), size=n_dev)]
    region, city = random_regions(rng, n)
    brand = unique_brands(rng, n)
    name = city + brand + word + "有限公司"

    def make_uscc(mask: np.ndarray) -> list[str]:
        return ids.make_uscc(rng, int(mask.sum()), region[mask].astype(str).tolist())

    uscc = _unique_ids(make_uscc, n)
    capital = np.exp(rng.normal(np.log(5e6), 1.2, size=n))
    capital[is_dev] *= 20
    capital = (np.round(capital / 10_000) * 10_000).clip(100_000, 5e10).astype(np.int64)
    start = np.datetime64("1995-01-01")
    span = (np.datetime64(as_of, "D") - np.timedelta64(400, "D") - start).astype(int)
    founded = start + rng.integers(0, span, size=n).astype("timedelta64[D]")
    status = np.array(FIRM_STATUSES, dtype=object)[rng.choice(3, size=n, p=[0.92, 0.05, 0.03])]
    # legal representatives: adults aged 28-70
    age = ages_at(persons["birth_date"], as_of)
    cand = np.flatnonzero((age >= 28) & (age <= 70))
    legal = persons["resident_id"].to_numpy()[rng.choice(cand, size=n)]
    return pd.DataFrame({
        "uscc": uscc, "name": name, "short_name": brand, "industry_code": industry,
        "industry_name": np.array([INDUSTRIES[c][0] for c in industry], dtype=object),
        "region_code": region, "registered_capital": capital, "founded_date": founded, "status": status,
        "legal_rep_resident_id": legal, "is_developer": is_dev,
    })[list(FIRM_COLUMNS)]


def build_shareholders(rng: np.random.Generator, firms: pd.DataFrame, persons: pd.DataFrame) -> pd.DataFrame:
    """1-4 shareholders per firm (the legal representative first, usually); shares sum to 100.00."""
    n = len(firms)
    k = rng.choice([1, 2, 3, 4], size=n, p=[0.3, 0.35, 0.23, 0.12])
    firm_idx = np.repeat(np.arange(n), k)
    pos = np.arange(len(firm_idx)) - np.repeat(np.cumsum(k) - k, k)
    m = len(firm_idx)
    is_firm = (rng.random(m) < 0.2) & (pos > 0)
    p_pick = rng.integers(len(persons), size=m)
    f_pick = rng.integers(n, size=m)
    f_pick = np.where(f_pick == firm_idx, (f_pick + 1) % n, f_pick)  # never its own shareholder
    rid = persons["resident_id"].to_numpy()
    legal_first = (pos == 0) & (rng.random(m) < 0.8)
    person_id = np.where(legal_first, firms["legal_rep_resident_id"].to_numpy()[firm_idx], rid[p_pick])
    pname = pd.Series(persons["name"].to_numpy(), index=rid)
    sid = np.where(is_firm, firms["uscc"].to_numpy()[f_pick], person_id)
    sname = np.where(is_firm, firms["name"].to_numpy()[f_pick], pname.reindex(person_id).to_numpy())
    g = rng.gamma(1.2, size=m) + np.where(pos == 0, 1.0, 0.0)
    tot = np.bincount(firm_idx, weights=g)[firm_idx]
    pct = np.floor(g / tot * 10_000).astype(np.int64)  # basis points of 100%
    last = np.r_[pos[1:] == 0, True]
    short = 10_000 - np.bincount(firm_idx, weights=pct).astype(np.int64)
    pct[last] += short[firm_idx[last]]
    return pd.DataFrame({
        "firm_uscc": firms["uscc"].to_numpy()[firm_idx],
        "shareholder_type": np.where(is_firm, "firm", "person").astype(object),
        "shareholder_id": sid, "shareholder_name": sname, "share_pct": pct / 100.0,
    })


#: Colour profiles of the developers (lines a developer drifts into breaching by the end of the base window)
#: and their shares; every profile gets at least one developer when there are four or more.
RED_LINE_PROFILES = (("red", 3, 0.15), ("orange", 2, 0.15), ("yellow", 1, 0.25))


def _red_line_targets(rng: np.random.Generator, dev: pd.DataFrame, prefer: np.ndarray | None) -> np.ndarray:
    """``(n, 3)`` bool: which of the three lines each developer drifts into breaching. Red, then orange,
    then (after one left green) yellow profiles go to the developers ``prefer`` ranks highest (ties in
    random order; default: active ones first): the caller prefers those that owe a bank, whose exposure
    to them is the point."""
    n = len(dev)
    counts = [max(1, int(round(share * n))) if n >= 4 else 0 for _, _, share in RED_LINE_PROFILES]
    rank = (dev["status"] == "存续").to_numpy(dtype=float) if prefer is None else np.asarray(prefer, dtype=float)
    order = np.lexsort((rng.random(n), -rank))
    lines = np.zeros(n, dtype=np.int64)
    pos = 0
    for (_, k, _), c in zip(RED_LINE_PROFILES, counts, strict=True):
        lines[order[pos:pos + c]] = k
        pos += c + (k == 2)  # after red and orange, one of the preferred stays green
    if n < 4:  # too few to guarantee every colour: draw
        lines = rng.choice([0, 1, 2, 3], size=n, p=[0.45, 0.25, 0.15, 0.15])
    # which lines: orange breaches liabilities plus one of the others; yellow any one line
    target = np.zeros((n, 3), dtype=bool)
    target[lines == 3] = True
    two = np.flatnonzero(lines == 2)
    target[two, 0] = True
    target[two, np.where(rng.random(len(two)) < 0.5, 1, 2)] = True
    one = np.flatnonzero(lines == 1)
    target[one, rng.integers(0, 3, len(one))] = True
    return target


def developer_financials(rng: np.random.Generator, firms: pd.DataFrame, quarters: list[date],
                         ext: Extension | None = None, prefer: np.ndarray | None = None) -> pd.DataFrame:
    """Quarterly "three red lines" balance-sheet items for every developer.

    Lines: (1) liabilities excluding advance receipts over assets excluding advance receipts > 70%;
    (2) net gearing (interest-bearing debt - cash) / equity > 100%; (3) cash / short-term debt < 1.
    Each developer gets a colour profile (:data:`RED_LINE_PROFILES`: about 15% drift into breaching all
    three lines, 15% two, 25% one, the rest none; at least one of each with four developers or more):
    a targeted line crosses its threshold at a random quarter of the base window and keeps drifting,
    the other lines stay on the safe side. The balance sheet is built backwards from the three ratios
    (assets, advance receipts, liabilities, equity, short- and long-term interest-bearing debt, cash),
    so the ratios recomputed from the rounded items are what the profile says, up to noise near a
    crossing. ``prefer`` (one number per developer, in firm order): who gets the worse profiles first.
    ``ext`` continues the base quarters (trends go on; the noise of extra quarters comes from
    their own streams).
    """
    dev = firms[firms["is_developer"]].reset_index(drop=True)
    n, t = len(dev), len(quarters)
    ext = ext if ext is not None else Extension.none(t)
    target = _red_line_targets(rng, dev, prefer)
    steps = np.arange(t)[None, :]
    cross = rng.integers(0, max(1, ext.t_base - 1), size=(n, 3))  # quarter from which a targeted line is breached
    slope = rng.uniform(0.5, 1.5, size=(n, 3)) * np.array([0.02, 0.15, 0.12])  # per quarter, per line

    def path(j: int, thr: float, up: bool, safe_lo: float, safe_hi: float, lo: float, hi: float,
             noise: float) -> np.ndarray:
        sign = 1.0 if up else -1.0
        drift = thr + sign * slope[:, j:j + 1] * (steps - cross[:, j:j + 1] + 0.5)
        safe = rng.uniform(safe_lo, safe_hi, size=n)[:, None] + rng.uniform(-0.2, 0.2, size=n)[:, None] \
            * slope[:, j:j + 1] * steps
        v = np.where(target[:, j:j + 1], drift, safe) + ext.normal(rng, 0, noise, n)
        return np.clip(v, lo, hi)

    lev_ex = path(0, 0.70, True, 0.50, 0.66, 0.30, 0.95, 0.004)  # liabilities ex-adv / assets ex-adv
    gearing = path(1, 1.00, True, 0.10, 0.80, -0.50, 3.00, 0.02)  # (interest-bearing debt - cash) / equity
    cash_ratio = path(2, 1.00, False, 1.25, 2.50, 0.10, 5.00, 0.02)  # cash / short-term debt
    assets = dev["registered_capital"].to_numpy(dtype=float)[:, None] * rng.uniform(5, 15, size=n)[:, None] \
        * np.exp(ext.normal(rng, 0.01, 0.02, n).cumsum(axis=1))
    adv_share = np.clip(rng.uniform(0.1, 0.3, size=n)[:, None] + ext.normal(rng, 0, 0.01, n), 0.02, 0.5)
    adv = assets * adv_share
    liab_ex = (assets - adv) * lev_ex
    liab = adv + liab_ex
    equity = assets - liab
    std = liab_ex * rng.uniform(0.10, 0.20, size=n)[:, None]
    cash = std * cash_ratio
    ibd = np.clip(gearing * equity + cash, std * 1.05, liab_ex * 0.95)  # interest-bearing debt
    r = lambda a: np.round(a).astype(np.int64).ravel()  # noqa: E731
    out = pd.DataFrame({
        "uscc": np.repeat(dev["uscc"].to_numpy(), t),
        "report_period": np.tile(np.array(quarters, dtype="datetime64[D]"), n),
        "total_assets": r(assets), "total_liabilities": r(liab), "advance_receipts": r(adv), "cash": r(cash),
        "short_term_debt": r(std), "interest_bearing_debt": r(ibd), "equity": r(equity),
    })
    a, li, ad = (out[c].astype(float) for c in ("total_assets", "total_liabilities", "advance_receipts"))
    out["liability_ratio_ex_adv"] = (li - ad) / (a - ad)
    out["net_gearing"] = (out["interest_bearing_debt"] - out["cash"]) / out["equity"]
    out["cash_to_short_debt"] = out["cash"] / out["short_term_debt"]
    out["breach_liability"] = out["liability_ratio_ex_adv"] > 0.7
    out["breach_gearing"] = out["net_gearing"] > 1.0
    out["breach_cash"] = out["cash_to_short_debt"] < 1.0
    out["red_lines_breached"] = out[["breach_liability", "breach_gearing", "breach_cash"]].sum(axis=1)
    return out
