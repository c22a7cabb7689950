"""Banking relationships: accounts, customers, loans (with their monthly life) and guarantees.

Everything is vectorised over accounts and loans; the only Python loops run over months, planted
circles/chains or institutions.

* **Accounts** are held at deposit-taking institutions (banks). Every person has one (30% two), every
  active firm one to three; planted patterns add their own accounts (see :mod:`.patterns`). An account
  number is 19 digits: ``6`` + the bank's 4-digit number + 14 digits (a bijection of a global sequence,
  so numbers are unique). Internal accounts of an institution (loan repayment, time deposits, wealth
  management) and the social-security payer use prefix ``9`` and are not customer accounts.
* **Customers** are the (institution, person or firm) pairs that hold an account or a loan there;
  ``customer_id`` is unique across the run (``P``/``C`` + 9 digits).
* **Loans**: corporate (to active firms; developers borrow for 房地产开发, leasing companies lend
  融资租赁, trusts favour developers), mortgages 个人住房按揭, consumer and business loans. A loan
  defaults in some month with a hazard that rises as its *lender's* latent health falls (and for
  stressed developers and planted guarantee circles); overdue days then grow month by month and drive
  the five-category classification. Deteriorating lenders under-classify some 91-180-day overdue loans
  as 关注 after their onset (recorded in the ground truth).
* **Guarantees**: a share of corporate loans is guaranteed by another firm or by the borrower's legal
  representative; planted circles (A guarantees B, B guarantees C, C guarantees A, each loan at a
  different lender where possible) and chains (A->B->C->D) are added and recorded.

Money is int64 fen; ``interest_rate`` is int64 in units of 0.0001 percentage points (numeric(8,4)).
The loans' monthly life is in :mod:`.loan_months`, the guarantees in :mod:`.guarantees`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from simulator.health import HealthPanel
from simulator.rng import stream

BANK_TYPES = ("large_state_bank", "joint_stock_bank", "city_commercial_bank", "rural_commercial_bank",
              "village_bank")
LENDER_TYPES = BANK_TYPES + ("consumer_finance", "financial_leasing", "trust")
TIER_WEIGHT = {1: 40.0, 2: 14.0, 3: 5.0, 4: 2.0, 5: 1.0}
TIER_AMOUNT = {1: 3.0, 2: 1.8, 3: 1.0, 4: 0.6, 5: 0.3}

FIVE_CATEGORIES = ("正常", "关注", "次级", "可疑", "损失")
NPL_CATEGORIES = ("次级", "可疑", "损失")
PURPOSES = ("流动资金", "固定资产投资", "房地产开发", "融资租赁", "个人住房按揭", "个人消费", "个人经营")
COLLATERAL_TYPES = ("信用", "保证", "抵押", "质押")
ACCOUNT_TYPES = ("个人结算账户", "个人储蓄账户", "单位基本存款账户", "单位一般存款账户")
ACCOUNT_STATUSES = ("正常", "冻结", "销户")
GUARANTEE_TYPES = ("连带责任保证", "一般保证")

# purpose index -> (hazard per month at z = 0, term months low/high, interest rate % low/high)
_LOAN_KIND = {
    0: (0.0012, (12, 36), (3.2, 6.0)),
    1: (0.0010, (36, 96), (3.5, 6.0)),
    2: (0.0025, (24, 60), (5.0, 9.0)),
    3: (0.0012, (24, 60), (5.0, 8.0)),
    4: (0.0004, (120, 360), (3.0, 4.6)),
    5: (0.0025, (6, 36), (6.0, 18.0)),
    6: (0.0018, (12, 60), (4.0, 8.0)),
}


@dataclass
class Banking:
    """Static tables (one row per account / customer / loan / guarantee) plus what was planted."""

    accounts: pd.DataFrame
    customers: pd.DataFrame
    loans: pd.DataFrame
    guarantees: pd.DataFrame
    circles: list[dict] = field(default_factory=list)
    chains: list[dict] = field(default_factory=list)
    understated: pd.DataFrame | None = None  # loans deliberately under-classified (loan_id, institution)


def month_index(dates: np.ndarray, months: list[date]) -> np.ndarray:
    """Index of the month (in ``months``) each date falls in; -1 before the first, len after the last."""
    me = np.array(months, dtype="datetime64[D]")
    first_day = (me[0].astype("datetime64[M]")).astype("datetime64[D]")
    d = np.asarray(dates, dtype="datetime64[D]")
    idx = np.searchsorted(me, d, side="left")
    return np.where(d < first_day, -1, idx)


def _weighted_pick(rng: np.random.Generator, pool: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    return pool[rng.choice(len(pool), size=n, p=weights / weights.sum())]


def account_numbers(bank_no: np.ndarray, seq: np.ndarray, prefix: str = "6") -> np.ndarray:
    """19-digit account numbers from a 4-digit bank number and a global sequence (bijective)."""
    body = (seq.astype(np.int64) * 982_451_653 + 271_828_183) % 10**14
    s = np.char.add(np.char.zfill(bank_no.astype(str), 4), np.char.zfill(body.astype(str), 14))
    return np.char.add(prefix, s).astype(object)


def internal_account(bank_no: int, kind: int) -> str:
    """An institution's internal account (kind 1 loan repayment, 2 time deposits, 3 wealth management)."""
    return f"9{bank_no:04d}{kind:014d}"


def build_accounts(rng: np.random.Generator, inst: pd.DataFrame, persons: pd.DataFrame, firms: pd.DataFrame,
                   months: list[date], extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """Accounts of persons and active firms at banks, plus ``extra`` rows (holder_type, holder_idx,
    inst_idx, open_date[, close_month]) requested by planted patterns."""
    banks = np.flatnonzero(inst["institution_type"].isin(BANK_TYPES).to_numpy())
    w = np.array([TIER_WEIGHT[t] for t in inst["size_tier"].to_numpy()[banks]])
    start = np.datetime64(months[0], "M").astype("datetime64[D]")
    end = np.datetime64(months[-1], "D")
    n_p = len(persons)
    second = rng.random(n_p) < 0.3
    p_idx = np.concatenate([np.arange(n_p), np.flatnonzero(second)])
    active = np.flatnonzero((firms["status"] == "存续").to_numpy())
    k = rng.choice([1, 2, 3], size=len(active), p=[0.7, 0.25, 0.05])
    f_idx = np.repeat(active, k)
    holder_type = np.concatenate([np.zeros(len(p_idx), np.int8), np.ones(len(f_idx), np.int8)])
    holder_idx = np.concatenate([p_idx, f_idx])
    n = len(holder_idx)
    bank = _weighted_pick(rng, banks, w, n)
    before = rng.random(n) < 0.88
    span = int((end - start).astype(int))
    open_date = np.where(before, start - rng.integers(1, 3650, size=n).astype("timedelta64[D]"),
                         start + rng.integers(0, span, size=n).astype("timedelta64[D]"))
    founded = firms["founded_date"].to_numpy().astype("datetime64[D]")
    is_firm = holder_type == 1
    f_found = np.where(is_firm, founded[np.where(is_firm, holder_idx, 0)], np.datetime64("1900-01-01"))
    open_date = np.maximum(open_date, f_found + rng.integers(5, 90, size=n).astype("timedelta64[D]"))
    open_date = np.minimum(open_date, end - np.timedelta64(1, "D"))
    acc = pd.DataFrame({"holder_type": holder_type, "holder_idx": holder_idx, "inst_idx": bank,
                        "open_date": open_date, "close_month": np.full(n, -1)})
    if extra is not None and len(extra):
        ex = extra.copy()
        if "close_month" not in ex:
            ex["close_month"] = -1
        acc = pd.concat([acc, ex[list(acc.columns)]], ignore_index=True)
    acc["open_month"] = month_index(acc["open_date"].to_numpy(), months)
    bank_no = inst.index.to_numpy()[acc["inst_idx"].to_numpy()] + 1001
    acc["account_no"] = account_numbers(bank_no, np.arange(len(acc)) + 1)
    acc["institution_code"] = inst["institution_code"].to_numpy()[acc["inst_idx"].to_numpy()]
    is_f = acc["holder_type"].to_numpy() == 1
    acc["account_type"] = np.where(is_f, np.where(rng.random(len(acc)) < 0.7, ACCOUNT_TYPES[2], ACCOUNT_TYPES[3]),
                                   np.where(rng.random(len(acc)) < 0.8, ACCOUNT_TYPES[0], ACCOUNT_TYPES[1]))
    return acc


def primary_accounts(accounts: pd.DataFrame, holder_type: int, n: int) -> np.ndarray:
    """Row position in ``accounts`` of each holder's first account (-1 if none)."""
    a = accounts[accounts["holder_type"] == holder_type]
    first = a.groupby("holder_idx", sort=True).head(1)
    out = np.full(n, -1, dtype=np.int64)
    out[first["holder_idx"].to_numpy()] = first.index.to_numpy()
    return out


def build_loans(rng: np.random.Generator, inst: pd.DataFrame, persons: pd.DataFrame, firms: pd.DataFrame,
                months: list[date], health: HealthPanel, *, firm_borrower_share: float, mortgage_share: float,
                consumer_loan_share: float, stressed_developers,
                forced_firms: np.ndarray | None = None) -> pd.DataFrame:
    """One row per loan: loan_id, inst_idx, holder_type (0 person / 1 firm), holder_idx, purpose
    (index into PURPOSES), collateral, contract (fen), rate (1e-4 %), start/maturity, term, amortising,
    default_month (month index; -99 never; negative = before the window) and default_date."""
    types = inst["institution_type"].to_numpy()
    tiers = inst["size_tier"].to_numpy().astype(int)
    tw = np.array([TIER_WEIGHT[t] for t in tiers])
    lenders_all = np.flatnonzero(np.isin(types, LENDER_TYPES))
    banks = np.flatnonzero(np.isin(types, BANK_TYPES))
    cf = np.flatnonzero(types == "consumer_finance")
    leasing = np.flatnonzero(types == "financial_leasing")
    trust = np.flatnonzero(types == "trust")
    m_count = len(months)
    start_w = np.datetime64(months[0], "M").astype("datetime64[D]")
    end_w = np.datetime64(months[-1], "D")

    # corporate borrowers
    active = (firms["status"] == "存续").to_numpy()
    is_dev = firms["is_developer"].to_numpy()
    borrow = active & ((rng.random(len(firms)) < firm_borrower_share) | (is_dev & (rng.random(len(firms)) < 0.9)))
    if forced_firms is not None:
        borrow[forced_firms] = False  # planted circles/chains get their own loans
    f_b = np.flatnonzero(borrow)
    nl = rng.choice([1, 2, 3], size=len(f_b), p=[0.6, 0.3, 0.1])
    f_idx = np.repeat(f_b, nl)
    nf = len(f_idx)
    dev = is_dev[f_idx]
    purpose_f = np.where(dev, 2, np.where(rng.random(nf) < 0.7, 0, 1))
    lender_f = _weighted_pick(rng, banks, tw[banks], nf)
    alt = rng.random(nf)
    if len(trust):
        to_trust = dev & (alt < 0.35)
        lender_f[to_trust] = _weighted_pick(rng, trust, tw[trust], int(to_trust.sum()))
    if len(leasing):
        to_lease = ~dev & (alt < 0.06)
        lender_f[to_lease] = _weighted_pick(rng, leasing, tw[leasing], int(to_lease.sum()))
        purpose_f[to_lease] = 3
    cap = firms["registered_capital"].to_numpy(dtype=float)[f_idx]
    amt_f = cap * np.exp(rng.normal(-0.3, 0.8, size=nf)) * np.array([TIER_AMOUNT[t] for t in tiers[lender_f]])
    amt_f = np.clip(amt_f, 1e5, 5e9)
    amt_f = np.where(types[lender_f] == "village_bank", np.minimum(amt_f, 3e7), amt_f)

    # personal borrowers
    age = (np.datetime64(months[-1], "Y").astype(int) - persons["birth_date"].to_numpy()
           .astype("datetime64[Y]").astype(int))
    working = (age >= 25) & (age <= 60)
    mort = np.flatnonzero(working & (rng.random(len(persons)) < mortgage_share))
    cons = np.flatnonzero((age >= 20) & (age <= 65) & (rng.random(len(persons)) < consumer_loan_share))
    bus = np.flatnonzero(working & (rng.random(len(persons)) < 0.02))
    p_idx = np.concatenate([mort, cons, bus])
    purpose_p = np.concatenate([np.full(len(mort), 4), np.full(len(cons), 5), np.full(len(bus), 6)])
    npers = len(p_idx)
    lender_p = _weighted_pick(rng, banks, tw[banks], npers)
    if len(cf):
        to_cf = (purpose_p == 5) & (rng.random(npers) < 0.4)
        lender_p[to_cf] = _weighted_pick(rng, cf, tw[cf], int(to_cf.sum()))
    amt_p = np.select([purpose_p == 4, purpose_p == 5],
                      [np.exp(rng.normal(np.log(9e5), 0.5, npers)), np.exp(rng.normal(np.log(5e4), 0.8, npers))],
                      np.exp(rng.normal(np.log(3e5), 0.7, npers)))
    amt_p = np.clip(amt_p, 5e3, 8e6)

    holder_type = np.concatenate([np.ones(nf, np.int8), np.zeros(npers, np.int8)])
    holder_idx = np.concatenate([f_idx, p_idx])
    lender = np.concatenate([lender_f, lender_p])
    purpose = np.concatenate([purpose_f, purpose_p])
    amount = np.concatenate([amt_f, amt_p])
    # every lender gets at least three loans (so every report has a loan book)
    missing = np.setdiff1d(lenders_all, lender)
    if len(missing):
        take = rng.choice(len(lender), size=3 * len(missing), replace=False)
        lender[take] = np.repeat(missing, 3)
        purpose[take] = np.where((types[lender[take]] == "financial_leasing") & (holder_type[take] == 1), 3,
                                 purpose[take])
    return _finish_loans(rng, inst, holder_type, holder_idx, lender, purpose, amount, months, health,
                         is_dev_borrower=(holder_type == 1) & is_dev[np.where(holder_type == 1, holder_idx, 0)],
                         stressed_developers=stressed_developers, start_w=start_w, end_w=end_w, m_count=m_count)


def _draw_term(rng: np.random.Generator, purpose: np.ndarray) -> np.ndarray:
    """Term in months, uniform in the purpose's range."""
    lo = np.array([_LOAN_KIND[p][1][0] for p in range(7)])[purpose]
    hi = np.array([_LOAN_KIND[p][1][1] for p in range(7)])[purpose]
    return rng.integers(lo, hi + 1)


def _draw_rate(rng: np.random.Generator, purpose: np.ndarray) -> np.ndarray:
    """Interest rate (1e-4 %), uniform in the purpose's range."""
    rlo = np.array([_LOAN_KIND[p][2][0] for p in range(7)])[purpose]
    rhi = np.array([_LOAN_KIND[p][2][1] for p in range(7)])[purpose]
    return np.round((rlo + (rhi - rlo) * rng.random(len(purpose))) * 10_000).astype(np.int64)


def _maturity(start_date: np.ndarray, term: np.ndarray) -> np.ndarray:
    """The same day of the month ``term`` months after ``start_date``."""
    return (start_date.astype("datetime64[M]") + term.astype("timedelta64[M]")).astype("datetime64[D]") \
        + (start_date - start_date.astype("datetime64[M]").astype("datetime64[D]"))


def _finish_loans(rng, inst, holder_type, holder_idx, lender, purpose, amount, months, health, *,
                  is_dev_borrower, stressed_developers, start_w, end_w, m_count,
                  start_date=None, hazard_mult=None) -> pd.DataFrame:
    n = len(lender)
    types = inst["institution_type"].to_numpy()
    purpose = np.where((types[lender] == "financial_leasing") & (holder_type == 1), 3, purpose)
    purpose = np.where((types[lender] == "consumer_finance"), 5, purpose)
    term = _draw_term(rng, purpose)
    if start_date is None:
        # start so the loan is outstanding at some point in the window
        earliest = start_w - (term * 30.4).astype("timedelta64[D]") + np.timedelta64(31, "D")
        span = (end_w - earliest).astype(int)
        start_date = earliest + (rng.random(n) * span).astype(np.int64).astype("timedelta64[D]")
    start_date = np.minimum(np.asarray(start_date, dtype="datetime64[D]"), end_w)
    maturity = _maturity(start_date, term)
    if callable(stressed_developers):  # decided once the loans' dates are known (build._Developers)
        stressed_developers = stressed_developers(holder_type, holder_idx, start_date, maturity)
    contract = (np.round(amount / 1000) * 1000).astype(np.int64).clip(5000) * 100
    rate = _draw_rate(rng, purpose)
    collateral = np.select([purpose == 4, purpose == 2, purpose == 5, purpose == 3],
                           [2, 2, 0, 3], rng.choice(4, size=n, p=[0.3, 0.35, 0.25, 0.1]))
    amortising = (holder_type == 0) | (rng.random(n) < 0.5)

    # default process
    zm = health.monthly(months)[lender]  # (n, M) lender health per month
    base = np.array([_LOAN_KIND[p][0] for p in range(7)])[purpose]
    mult = np.ones(n)
    if is_dev_borrower is not None and stressed_developers is not None:
        mult = np.where(is_dev_borrower & stressed_developers[np.where(holder_type == 1, holder_idx, 0)], 3.0, mult)
    if hazard_mult is not None:
        mult = mult * hazard_mult
    h = np.clip(base[:, None] * mult[:, None] * np.exp(-0.8 * zm), 0, 0.5)
    start_m = month_index(start_date, months)
    mat_m = month_index(maturity, months)
    mcols = np.arange(m_count)[None, :]
    live = (mcols >= start_m[:, None]) & (mcols < mat_m[:, None])
    hit = (rng.random((n, m_count)) < h) & live
    dm = np.where(hit.any(axis=1), hit.argmax(axis=1), -99)
    pre = (start_m < 0) & (rng.random(n) < 0.5 * base * 12 * mult * np.exp(-0.6 * zm[:, 0]))
    dm = np.where(pre & (dm == -99), -rng.integers(1, 16, size=n), dm)
    me = np.array(months, dtype="datetime64[D]")
    ref = np.where(dm >= 0, me[np.clip(dm, 0, m_count - 1)],
                   (me[0].astype("datetime64[M]") + np.minimum(dm, 0).astype("timedelta64[M]"))
                   .astype("datetime64[D]") + np.timedelta64(27, "D"))
    default_date = ref - rng.integers(1, 28, size=n).astype("timedelta64[D]")
    default_date = np.maximum(default_date, start_date + np.timedelta64(20, "D"))
    loans = pd.DataFrame({
        "inst_idx": lender, "holder_type": holder_type.astype(np.int8), "holder_idx": holder_idx,
        "purpose": purpose, "collateral": collateral, "contract": contract, "rate": rate,
        "start_date": start_date, "maturity_date": maturity, "term": term, "amortising": amortising,
        "default_month": dm, "default_date": default_date, "hazard": base * mult,
    })
    return loans


#: Probability that a loan maturing after the base window is renewed (续贷) by the same borrower at the
#: same lender, by purpose index (mortgages are not renewed).
RENEWAL = np.array([0.7, 0.5, 0.5, 0.5, 0.0, 0.4, 0.5])


def continue_loans(loans: pd.DataFrame, guarantees: pd.DataFrame, months: list[date], m_base: int,
                   health: HealthPanel, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The loan book after the base window (``simulate advance``), month by month.

    Each month ``m``: (1) every loan that is live and has not defaulted defaults with the same hazard as
    in the base window (its kind and multipliers, ``exp(-0.8 z)`` of its lender's continued health);
    (2) loans maturing in ``m`` without default are renewed with probability :data:`RENEWAL` by a new
    loan (appended, so it gets the next id) of the same borrower at the same lender, starting on the old
    maturity date, with a fresh term, rate and an amount near the old contract, and the old loan's
    guarantee (same guarantor, same share of the contract). Both draw from the month's own streams
    (``loans``/``ext``/<month>, ``loans``/``renew``/<month>) over the loans that exist by then, so a
    month does not depend on how many months follow it. Returns (loans, guarantees)."""
    me = np.array(months, dtype="datetime64[D]")
    zm = health.monthly(months)
    new_parts, new_g = [], []
    for m in range(m_base, len(months)):
        if new_parts:
            loans = pd.concat([loans, new_parts.pop()], ignore_index=True)
        n = len(loans)
        start_m = month_index(loans["start_date"].to_numpy(), months)
        mat_m = month_index(loans["maturity_date"].to_numpy(), months)
        dm = loans["default_month"].to_numpy().copy()
        dd = loans["default_date"].to_numpy().astype("datetime64[D]").copy()
        g = stream(seed, "loans", "ext", months[m].isoformat())
        u = g.random(n)
        day = g.integers(1, 28, size=n).astype("timedelta64[D]")
        h = np.clip(loans["hazard"].to_numpy() * np.exp(-0.8 * zm[loans["inst_idx"].to_numpy(), m]), 0, 0.5)
        hit = (dm == -99) & (start_m <= m) & (m < mat_m) & (u < h)
        start = loans["start_date"].to_numpy().astype("datetime64[D]")
        dm[hit] = m
        dd[hit] = np.maximum(me[m] - day[hit], start[hit] + np.timedelta64(20, "D"))
        loans["default_month"] = dm
        loans["default_date"] = dd
        # renewals of the loans maturing this month
        r = stream(seed, "loans", "renew", months[m].isoformat())
        due = np.flatnonzero((mat_m == m) & (dm == -99) & loans["planted_group"].isna().to_numpy())
        old = loans.iloc[due[r.random(len(due)) < RENEWAL[loans["purpose"].to_numpy()[due]]]]
        k = len(old)
        if not k:
            continue
        purpose = old["purpose"].to_numpy()
        term = _draw_term(r, purpose)
        sd = old["maturity_date"].to_numpy().astype("datetime64[D]")
        amount = old["contract"].to_numpy() * np.exp(r.normal(0.0, 0.15, size=k))
        new = old.drop(columns=[c for c in ("loan_id", "customer_id") if c in old]).assign(
            contract=(np.round(amount / 100_000) * 100_000).astype(np.int64).clip(500_000),
            rate=_draw_rate(r, purpose), start_date=sd, maturity_date=_maturity(sd, term), term=term,
            default_month=-99, default_date=sd,
        ).reset_index(drop=True)
        new_parts.append(new)
        gl = guarantees[guarantees["li"].isin(old.index)]
        if len(gl):
            pos = pd.Series(np.arange(n, n + k), index=old.index)
            ratio = gl["amount"].to_numpy() / loans["contract"].to_numpy()[gl["li"].to_numpy()]
            ng = gl.assign(li=pos.reindex(gl["li"]).to_numpy(), planted=None)
            ng["amount"] = (new["contract"].to_numpy()[ng["li"].to_numpy() - n] * ratio).astype(np.int64)
            new_g.append(ng)
    if new_parts:
        loans = pd.concat([loans, new_parts.pop()], ignore_index=True)
    if new_g:
        guarantees = pd.concat([guarantees, *new_g], ignore_index=True)
    return loans, guarantees


def add_planted_loans(rng, loans: pd.DataFrame, inst, firms, months, health, firm_groups: list[np.ndarray],
                      kind: str, stressed_developers) -> tuple[pd.DataFrame, list[dict]]:
    """Give each firm of each planted group one corporate loan, at distinct lenders where possible,
    starting before the window. In circles, half the groups default together late in the window."""
    types = inst["institution_type"].to_numpy()
    tiers = inst["size_tier"].to_numpy().astype(int)
    banks = np.flatnonzero(np.isin(types, BANK_TYPES))
    m_count = len(months)
    start_w = np.datetime64(months[0], "M").astype("datetime64[D]")
    end_w = np.datetime64(months[-1], "D")
    rows, groups = [], []
    for g, members in enumerate(firm_groups):
        lenders = rng.choice(banks, size=len(members), replace=len(members) > len(banks))
        contagion = kind == "circle" and rng.random() < 0.5
        groups.append({"members": members, "lenders": lenders, "contagion": bool(contagion), "group": g})
        rows.append(pd.DataFrame({"holder_idx": members, "lender": lenders, "group": g,
                                  "contagion": contagion}))
    if not rows:
        return loans, []
    p = pd.concat(rows, ignore_index=True)
    n = len(p)
    cap = firms["registered_capital"].to_numpy(dtype=float)[p["holder_idx"].to_numpy()]
    amount = np.clip(cap * np.exp(rng.normal(0.0, 0.5, size=n)) * np.array(
        [TIER_AMOUNT[t] for t in tiers[p["lender"].to_numpy()]]), 5e5, 2e9)
    start = start_w - rng.integers(60, 400, size=n).astype("timedelta64[D]")
    hm = np.where(p["contagion"].to_numpy(), 0.0, 1.5)
    new = _finish_loans(rng, inst, np.ones(n, np.int8), p["holder_idx"].to_numpy(), p["lender"].to_numpy(),
                        np.zeros(n, dtype=int), amount, months, health, is_dev_borrower=None,
                        stressed_developers=None, start_w=start_w, end_w=end_w, m_count=m_count,
                        start_date=start, hazard_mult=hm)
    new["purpose"] = np.where(types[new["inst_idx"]] == "financial_leasing", 3, 0)
    new["collateral"] = 1  # 保证
    # term long enough to stay outstanding over the window
    new["maturity_date"] = (end_w + rng.integers(90, 720, size=n).astype("timedelta64[D]"))
    new["term"] = ((new["maturity_date"].to_numpy().astype("datetime64[M]")
                    - new["start_date"].to_numpy().astype("datetime64[M]")).astype(int))
    # contagion: the whole circle defaults within three months of a month in the second half
    for gr in groups:
        if gr["contagion"]:
            at = int(rng.integers(m_count // 2, max(m_count - 1, m_count // 2 + 1)))
            sel = (p["group"] == gr["group"]).to_numpy()
            dm = np.minimum(at + rng.integers(0, 3, size=int(sel.sum())), m_count - 1)
            new.loc[sel, "default_month"] = dm
            me = np.array(months, dtype="datetime64[D]")
            new.loc[sel, "default_date"] = me[dm] - rng.integers(1, 28, size=int(sel.sum())).astype("timedelta64[D]")
            gr["default_month"] = at
    new["planted_group"] = kind + ":" + p["group"].astype(str)
    first = len(loans)
    loans = pd.concat([loans, new], ignore_index=True)
    bounds = np.cumsum([len(g["members"]) for g in groups])[:-1]
    for gr, pos in zip(groups, np.split(np.arange(first, len(loans)), bounds), strict=True):
        gr["loan_rows"] = pos
    return loans, groups


def assign_customers(inst: pd.DataFrame, accounts: pd.DataFrame, loans: pd.DataFrame,
                     months: list[date]) -> pd.DataFrame:
    """Customers = distinct (inst_idx, holder_type, holder_idx) over accounts and loans; sets
    ``customer_id`` on ``accounts`` and ``loans`` in place and returns the customer table."""
    a = accounts[["inst_idx", "holder_type", "holder_idx", "open_date"]].rename(columns={"open_date": "since"})
    lo = loans[["inst_idx", "holder_type", "holder_idx", "start_date"]].rename(columns={"start_date": "since"})
    both = pd.concat([a, lo], ignore_index=True)
    cust = both.groupby(["inst_idx", "holder_type", "holder_idx"], sort=True, as_index=False)["since"].min()
    seq = np.arange(1, len(cust) + 1)
    cust["customer_id"] = np.char.add(np.where(cust["holder_type"].to_numpy() == 1, "C", "P"),
                                      np.char.zfill(seq.astype(str), 9)).astype(object)
    cust["onboard_month"] = month_index(cust["since"].to_numpy(), months)
    cust["institution_code"] = inst["institution_code"].to_numpy()[cust["inst_idx"].to_numpy()]
    key = ["inst_idx", "holder_type", "holder_idx"]
    for df in (accounts, loans):
        df["customer_id"] = df[key].merge(cust[key + ["customer_id"]], on=key, how="left")["customer_id"].to_numpy()
    return cust
