"""The legitimate background of the outside generator: people, companies, banks and a year's ordinary money.

Written from the published descriptions of IBM's AMLworld (Altman et al., "Realistic Synthetic Financial
Transactions for Anti-Money Laundering Models", NeurIPS 2023 Datasets and Benchmarks) and AMLSim, NOT from
this repository's simulator or detector. AMLworld is an agent world: individuals and companies hold accounts
at many banks and do ordinary things (salaries, rent, bills, purchases, supplier payments, gifts); a small
set of them also launders money through fixed typologies (see ``patterns.py``). Its currencies are collapsed
here to CNY; amounts are log-normal and never rounded; purposes are what real exports mostly carry: nothing,
or a neutral word.

The heavy legitimate fan-in that any fan-in rule must survive is deliberate: utilities with thousands of
payers, property managers and landlords collecting rent, schools collecting tuition, merchants collecting
purchases, suppliers collecting invoices, and individual small traders (个体户) paid by many customers into
a personal account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np

# --- population shares (of all accounts) and sizes --------------------------------------------------------
COMPANY_SHARE = 0.12            # AMLworld: most accounts are individuals'; companies are the big counterparts
N_BANKS = 24                    # many banks of Zipf-like sizes; every account belongs to one
BANK_ZIPF = 1.05
#: company sectors, share of companies (utilities, schools and property managers are few but huge receivers)
SECTORS = {"merchant": 0.34, "supplier": 0.26, "manufacturer": 0.26, "property_manager": 0.05,
           "school": 0.03, "utility": 0.012, "services": 0.048}
TRADER_SHARE = 0.04             # individuals who sell to many people into a personal account (个体户)
LANDLORD_SHARE = 0.05           # individuals letting 1-4 flats
# --- monthly behaviour of an individual -------------------------------------------------------------------
EMPLOYED = 0.74                 # paid a salary by one company (payroll fan-out)
RENTER = 0.33                   # pays rent monthly; 60% to a property manager, 40% to an individual landlord
UTILITY_PAY = 0.6               # pays its utility bill by bank transfer (not a payment app) in a given month
PARENT = 0.18                   # pays a school: tuition at the semester start, fees some months
PURCHASES = 0.5                 # Poisson mean of bank-transfer purchases at merchants per month
P2P = 0.35                      # Poisson mean of transfers to friends/family per month
TRADER_SALES = 9.0              # Poisson mean of customers paying a trader per month
BIG_PURCHASE = 0.015            # a car, a renovation: one large payment to a company in a month
# --- companies ---------------------------------------------------------------------------------------------
B2B = 2.6                       # Poisson mean of supplier invoices paid per company per month
# --- amounts (yuan): log-normal (median, sigma) ------------------------------------------------------------
AMT = {"salary": (6800, 0.55), "rent": (2600, 0.4), "utility": (160, 0.65), "tuition": (7800, 0.5),
       "school_fee": (650, 0.5), "purchase": (320, 1.0), "p2p": (900, 1.15), "trader": (210, 0.9),
       "big": (60000, 0.8), "b2b": (28000, 1.25)}
#: purposes: mostly empty; neutral words otherwise (same distribution for laundering, by sender type)
PURPOSE_IND = (["", "转账", "还款", "生活费"], [0.72, 0.2, 0.04, 0.04])
PURPOSE_CORP = (["", "货款", "往来款", "服务费"], [0.5, 0.38, 0.07, 0.05])
PURPOSE_KIND = {"salary": (["", "工资", "代发工资"], [0.45, 0.4, 0.15]),
                "rent": (["", "房租", "转账"], [0.6, 0.3, 0.1]),
                "utility": (["", "缴费"], [0.7, 0.3]), "tuition": (["", "学费"], [0.5, 0.5]),
                "school_fee": (["", "学费", "缴费"], [0.6, 0.2, 0.2])}
CHANNEL_IND = (["手机银行", "网上银行", "柜面"], [0.6, 0.32, 0.08])
CHANNEL_CORP = (["网上银行", "柜面", "手机银行"], [0.78, 0.15, 0.07])


@dataclass
class Txn:
    ts: datetime
    src: int
    dst: int
    amount: float
    purpose: str
    channel: str
    pattern: int = -1           # laundering pattern id, -1 for the background


@dataclass
class World:
    start: date
    months: int
    ids: list[str] = field(default_factory=list)
    bank: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)        # 个人 / 对公
    sector: list[str] = field(default_factory=list)      # person, trader, landlord, mule, or the company sector
    birth: list[date | None] = field(default_factory=list)
    txns: list[Txn] = field(default_factory=list)

    @property
    def end(self) -> datetime:
        y, m = divmod(self.start.month - 1 + self.months, 12)
        return datetime(self.start.year + y, m + 1, 1)

    def add_account(self, rng: np.random.Generator, kind: str, sector: str, bank_p: np.ndarray) -> int:
        while True:
            text = f"{int(rng.integers(0x100000000, 0xFFFFFFFFF)):09X}"
            if text not in self._seen:
                break
        self._seen.add(text)
        self.ids.append(text)
        self.bank.append(f"AMLWB{int(rng.choice(N_BANKS, p=bank_p)) + 1:02d}")
        self.kind.append(kind)
        self.sector.append(sector)
        self.birth.append(_birth(rng, self.start, sector) if kind == "个人" else None)
        return len(self.ids) - 1

    def __post_init__(self) -> None:
        self._seen: set[str] = set()


def _birth(rng: np.random.Generator, start: date, sector: str) -> date:
    age = rng.uniform(19, 34) if sector == "mule" else min(88.0, 18 + rng.gamma(3.2, 9.0))
    return start - timedelta(days=int(age * 365.25))


def bank_weights() -> np.ndarray:
    w = 1.0 / np.arange(1, N_BANKS + 1) ** BANK_ZIPF
    return w / w.sum()


def lognormal(rng: np.random.Generator, what: str, scale: float = 1.0) -> float:
    median, sigma = AMT[what]
    return round(float(median * scale * np.exp(sigma * rng.standard_normal())), 2) or 0.01


def pick(rng: np.random.Generator, options: tuple[list[str], list[float]]) -> str:
    return options[0][int(rng.choice(len(options[0]), p=options[1]))]


def moment(rng: np.random.Generator, day: date, corporate: bool) -> datetime:
    """A time of day: companies in office hours, people from morning to late evening."""
    if corporate:
        sec = int(rng.uniform(8.5, 17.5) * 3600)
    else:
        sec = int((6.5 + 17.4 * rng.beta(2.2, 1.8)) * 3600)
    return datetime(day.year, day.month, day.day) + timedelta(seconds=sec)


def build_population(rng: np.random.Generator, world: World, n_background: int) -> dict[str, np.ndarray]:
    """Create ``n_background`` ordinary accounts; return the index arrays of each sector."""
    bank_p = bank_weights()
    n_comp = max(int(n_background * COMPANY_SHARE), 40)
    sectors = list(SECTORS)
    shares = np.array([SECTORS[s] for s in sectors])
    comp_sector = rng.choice(len(sectors), size=n_comp, p=shares / shares.sum())
    for s in range(len(sectors)):            # every sector exists (at least 3 utilities, 3 schools)
        if (comp_sector == s).sum() < 3:
            comp_sector[rng.choice(n_comp, 3, replace=False)] = s
    for s in comp_sector:
        world.add_account(rng, "对公", sectors[int(s)], bank_p)
    for _ in range(n_background - n_comp):
        u = rng.random()
        sector = "trader" if u < TRADER_SHARE else "landlord" if u < TRADER_SHARE + LANDLORD_SHARE else "person"
        world.add_account(rng, "个人", sector, bank_p)
    sec = np.array(world.sector)
    return {s: np.flatnonzero(sec == s) for s in (*sectors, "trader", "landlord", "person")}


def _zipf_choice(rng: np.random.Generator, pool: np.ndarray, size: int, a: float = 1.1) -> np.ndarray:
    w = 1.0 / np.arange(1, len(pool) + 1) ** a
    return pool[rng.choice(len(pool), size=size, p=w / w.sum())]


def _emit(world: World, rng: np.random.Generator, day: date, src: int, dst: int, amount: float, kind: str) -> None:
    corp = world.kind[src] == "对公"
    purpose = pick(rng, PURPOSE_KIND[kind]) if kind in PURPOSE_KIND else pick(rng, PURPOSE_CORP if corp else
                                                                               PURPOSE_IND)
    world.txns.append(Txn(moment(rng, day, corp), src, dst, amount, purpose,
                          pick(rng, CHANNEL_CORP if corp else CHANNEL_IND)))


def _day(rng: np.random.Generator, month_start: date, lo: int = 1, hi: int = 28) -> date:
    return month_start + timedelta(days=int(rng.integers(lo, hi + 1)) - 1)


def background(rng: np.random.Generator, world: World, groups: dict[str, np.ndarray]) -> None:
    """Every ordinary transfer of every month."""
    people = np.concatenate([groups["person"], groups["trader"], groups["landlord"]])
    companies = np.concatenate([groups[s] for s in SECTORS])
    employers = np.concatenate([groups[s] for s in SECTORS if s != "utility"])
    # fixed relations, drawn once (the same employer, landlord, utility, school every month)
    employer = {int(p): int(e) for p, e in zip(people, _zipf_choice(rng, employers, len(people), 0.9), strict=True)
                if rng.random() < EMPLOYED}
    salary = {p: lognormal(rng, "salary") for p in employer}
    payday = {int(c): int(rng.integers(5, 16)) for c in companies}
    landlord = {}
    for p in people:
        if rng.random() < RENTER:
            pool = groups["property_manager"] if rng.random() < 0.6 else groups["landlord"]
            landlord[int(p)] = int(_zipf_choice(rng, pool, 1, 0.6)[0])
    rent = {p: lognormal(rng, "rent") for p in landlord}
    util_of = _zipf_choice(rng, groups["utility"], len(people), 0.5)
    utility = {int(p): int(u) for p, u in zip(people, util_of, strict=True)}
    school_of = _zipf_choice(rng, groups["school"], len(people), 0.5)
    school = {int(p): int(s) for p, s in zip(people, school_of, strict=True) if rng.random() < PARENT}
    friends = {int(p): rng.choice(people, size=int(rng.integers(3, 9)), replace=False) for p in people}
    suppliers = {int(c): rng.choice(np.concatenate([groups["supplier"], groups["manufacturer"]]),
                                    size=int(rng.integers(2, 11))) for c in companies}
    traders = groups["trader"]
    for m in range(world.months):
        y, mm = divmod(world.start.month - 1 + m, 12)
        ms = date(world.start.year + y, mm + 1, 1)
        semester = ms.month in (2, 9)
        for p, e in employer.items():
            _emit(world, rng, ms + timedelta(days=payday[e] - 1), e, p,
                  round(salary[p] * float(rng.lognormal(0, 0.05)), 2), "salary")
        for p, ll in landlord.items():
            _emit(world, rng, _day(rng, ms, 1, 6), p, ll, rent[p], "rent")
        for p, u in utility.items():
            if rng.random() < UTILITY_PAY:
                _emit(world, rng, _day(rng, ms), p, u, lognormal(rng, "utility"), "utility")
        for p, s in school.items():
            if semester:
                _emit(world, rng, _day(rng, ms, 1, 20), p, s, lognormal(rng, "tuition"), "tuition")
            elif rng.random() < 0.45:
                _emit(world, rng, _day(rng, ms), p, s, lognormal(rng, "school_fee"), "school_fee")
        n_buy = rng.poisson(PURCHASES, len(people))
        for p, k in zip(people, n_buy, strict=True):
            for shop in _zipf_choice(rng, groups["merchant"], int(k), 0.8):
                _emit(world, rng, _day(rng, ms), int(p), int(shop), lognormal(rng, "purchase"), "purchase")
        for p, k in zip(people, rng.poisson(P2P, len(people)), strict=True):
            for f in rng.choice(friends[int(p)], size=int(k)):
                _emit(world, rng, _day(rng, ms), int(p), int(f), lognormal(rng, "p2p"), "p2p")
        for t in traders:                     # many distinct customers, a personal account: legitimate fan-in
            for c in rng.choice(people, size=int(rng.poisson(TRADER_SALES))):
                if int(c) != int(t):
                    _emit(world, rng, _day(rng, ms), int(c), int(t), lognormal(rng, "trader"), "trader")
        for p in people[rng.random(len(people)) < BIG_PURCHASE]:
            _emit(world, rng, _day(rng, ms), int(p), int(rng.choice(companies)), lognormal(rng, "big"), "big")
        for c, k in zip(companies, rng.poisson(B2B, len(companies)), strict=True):
            for s in rng.choice(suppliers[int(c)], size=int(k)):
                if int(s) != int(c):
                    _emit(world, rng, _day(rng, ms), int(c), int(s), lognormal(rng, "b2b"), "b2b")
