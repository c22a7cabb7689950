"""Planted transaction patterns (illegal fundraising schemes) and the hard negatives that resemble them.

Decided once per run (:func:`plan_patterns`, stream ``patterns``); the month-by-month transfers are
drawn in :mod:`.transactions` from a per-month stream, so one month can be generated alone (streaming
and ``simulate advance``).

**Schemes** (非法集资): a firm (mostly leasing & business services, residents' services, agriculture,
health) opens one to three collection accounts at one or two banks shortly before it starts. Investors
(about two thirds elderly, most from its province) join month by month at a growing rate and pay a
principal that is a multiple of the scheme's unit (10,000 or 50,000 yuan), sometimes topping up, with
purposes 投资款/会员费/认购款/理财 (sometimes blank or disguised as 货款). Every month after joining,
each investor receives an equal "返息" on the scheme's pay day; each month 50-80% of the inflows move on
in a few large transfers to two to four controller accounts; in the collapse month the rest goes to
the controllers, then everything stops and the collection accounts are frozen.

**Hard negatives**: payroll firms (equal monthly salaries to employees on a fixed day, 批量代发),
retail merchants (many small irregular inflows from many persons, a few supplier payments), personal
loan repayments (equal monthly instalments to the lender, 代扣), and pensions of elderly persons
(equal monthly inflows from the social-security fund, plus occasional round-sum transfers into time
deposits or bank wealth-management products: round amounts, elderly, "理财", one counterparty).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from simulator.banking import BANK_TYPES
from simulator.entities import ages_at

SCHEME_INDUSTRY_WEIGHT = {"L": 5.0, "O": 3.0, "A": 2.0, "Q": 2.0, "M": 1.0, "F": 1.0, "C": 0.5, "I": 1.0,
                          "R": 1.0}
PAYROLL_INDUSTRIES = ("C", "F", "I", "E", "G", "H", "M")
MERCHANT_INDUSTRIES = ("F", "H", "O", "Q")


@dataclass
class Patterns:
    schemes: pd.DataFrame  # scheme_id, firm_idx, start_month, collapse_month (-1: beyond the window), ...
    scheme_accounts: pd.DataFrame  # scheme_id, acct (row in accounts)
    controllers: pd.DataFrame  # scheme_id, acct
    investors: pd.DataFrame  # scheme_id, person_idx, acct, join_month, principal, topup_month, topup
    payroll: pd.DataFrame  # firm_idx, acct, pay_day
    employees: pd.DataFrame  # payroll (row in payroll), person_idx, acct, salary
    merchants: pd.DataFrame  # firm_idx, acct, rate (mean monthly customers), elderly_bias
    suppliers: pd.DataFrame  # merchant (row in merchants), acct
    pensioners: pd.DataFrame  # person_idx, acct, amount, pay_day, deposit_prob


def scheme_extra_accounts(rng: np.random.Generator, firms: pd.DataFrame, inst: pd.DataFrame, months: list[date],
                          n_schemes: int) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Choose scheme firms and timelines; returns (schemes, extra accounts to open for them, the planned
    collapse month of each scheme, which may lie up to two months after the window: ``simulate
    advance`` collapses such a scheme when its month comes)."""
    m_count = len(months)
    active = np.flatnonzero((firms["status"] == "存续").to_numpy() & ~firms["is_developer"].to_numpy())
    w = np.array([SCHEME_INDUSTRY_WEIGHT.get(c, 0.2) for c in firms["industry_code"].to_numpy()[active]])
    firm_idx = rng.choice(active, size=n_schemes, replace=False, p=w / w.sum())
    collapse = rng.integers(max(3, m_count // 3), m_count + 3, size=n_schemes)
    duration = rng.integers(5, 16, size=n_schemes)
    start = collapse - duration
    planned = collapse.copy()
    collapse = np.where(collapse >= m_count, -1, collapse)
    banks = np.flatnonzero(inst["institution_type"].isin(BANK_TYPES).to_numpy())
    small_banks = banks[inst["size_tier"].to_numpy()[banks] >= 3]
    pool = small_banks if len(small_banks) else banks
    n_acc = rng.choice([1, 2, 3], size=n_schemes, p=[0.4, 0.4, 0.2])
    sid = np.repeat(np.arange(n_schemes), n_acc)
    bank = pool[rng.integers(len(pool), size=len(sid))]
    first_day = np.datetime64(months[0], "M")
    open_month = start[sid] - rng.integers(1, 3, size=len(sid))
    open_date = (first_day + open_month.astype("timedelta64[M]")).astype("datetime64[D]") \
        + rng.integers(0, 25, size=len(sid)).astype("timedelta64[D]")
    close = np.where(collapse[sid] >= 0, collapse[sid], -1)
    extra = pd.DataFrame({"holder_type": np.ones(len(sid), np.int8), "holder_idx": firm_idx[sid],
                          "inst_idx": bank, "open_date": open_date, "close_month": close, "scheme": sid})
    schemes = pd.DataFrame({
        "scheme_id": [f"S{i + 1:03d}" for i in range(n_schemes)], "firm_idx": firm_idx,
        "start_month": start, "collapse_month": collapse,
        "unit": rng.choice([10_000_00, 50_000_00], size=n_schemes, p=[0.7, 0.3]).astype(np.int64),
        "monthly_rate": rng.uniform(0.01, 0.03, size=n_schemes).round(4),
        "pay_day": rng.integers(5, 26, size=n_schemes),
        "growth": rng.uniform(1.12, 1.35, size=n_schemes),
        "inflow_purpose": rng.choice(["投资款", "会员费", "认购款", "理财"], size=n_schemes),
        "payout_purpose": rng.choice(["返息", "利息", "收益", "分红"], size=n_schemes),
    })
    return schemes, extra, planned


def plan_patterns(rng: np.random.Generator, *, inst: pd.DataFrame, persons: pd.DataFrame, firms: pd.DataFrame,
                  accounts: pd.DataFrame, loans: pd.DataFrame, months: list[date], schemes: pd.DataFrame,
                  n_payroll: int, n_merchants: int, pension_share: float) -> Patterns:
    m_count = len(months)
    n_p = len(persons)
    # per-entity sizes (investors, employees, customers) shrink for tiny populations; bigger presets
    # scale by having more schemes, payroll firms and merchants, not bigger ones
    scale = float(np.clip(n_p / 50_000, 0.3, 1.0))
    p_acc = _primary(accounts, 0, n_p)
    f_acc = _primary(accounts, 1, len(firms), exclude_scheme=True)
    age = ages_at(persons["birth_date"], months[-1])
    elderly = age >= 60
    region_prov = persons["region_code"].str[:2].to_numpy()

    # ---- schemes: collection accounts, controllers, investors
    sa = accounts[accounts.get("scheme", pd.Series(np.nan, index=accounts.index)).notna()]
    scheme_accounts = pd.DataFrame({"scheme_id": schemes["scheme_id"].to_numpy()[sa["scheme"].astype(int)],
                                    "acct": sa.index.to_numpy()})
    ctrl_rows, inv_rows = [], []
    used = np.zeros(n_p, dtype=bool)
    for i, s in enumerate(schemes.itertuples(index=False)):
        legal = firms["legal_rep_resident_id"].iat[s.firm_idx]
        legal_idx = int(np.flatnonzero(persons["resident_id"].to_numpy() == legal)[0])
        with_acc = np.flatnonzero(p_acc >= 0)
        others = with_acc[rng.choice(len(with_acc), size=int(rng.integers(1, 4)), replace=False)]
        ctrl = np.unique(np.r_[legal_idx, others])
        ctrl = ctrl[p_acc[ctrl] >= 0]  # the legal representative may bank outside the universe
        ctrl_rows.append(pd.DataFrame({"scheme_id": s.scheme_id, "acct": p_acc[ctrl]}))
        used[ctrl] = True
        n_inv = int(rng.integers(40, 260) * scale)
        prov = firms["region_code"].iat[s.firm_idx][:2]
        w = np.where(elderly, 6.0, 1.0) * np.where(region_prov == prov, 4.0, 1.0) * np.where(used, 0.0, 1.0)
        w = w * (p_acc >= 0)
        n_inv = min(n_inv, int((w > 0).sum()))
        who = rng.choice(n_p, size=n_inv, replace=False, p=w / w.sum())
        end = s.collapse_month if s.collapse_month >= 0 else m_count
        months_active = np.arange(s.start_month, end)
        jw = s.growth ** (months_active - s.start_month)
        join = rng.choice(months_active, size=n_inv, p=jw / jw.sum())
        principal = s.unit * rng.choice([1, 2, 3, 5, 10], size=n_inv, p=[0.35, 0.25, 0.15, 0.15, 0.1])
        top = rng.random(n_inv) < 0.25
        topup_month = np.where(top, join + rng.integers(1, 5, size=n_inv), -99)
        topup_month = np.where(topup_month < end, topup_month, -99)
        inv_rows.append(pd.DataFrame({
            "scheme_id": s.scheme_id, "scheme": i, "person_idx": who, "acct": p_acc[who], "join_month": join,
            "principal": principal.astype(np.int64), "topup_month": topup_month,
            "topup": (s.unit * rng.choice([1, 2], size=n_inv)).astype(np.int64),
            "payout": np.round(principal * s.monthly_rate / 100).astype(np.int64) * 100,
            "elderly": elderly[who],
        }))
    controllers = pd.concat(ctrl_rows, ignore_index=True) if ctrl_rows else pd.DataFrame(columns=["scheme_id", "acct"])
    investors = pd.concat(inv_rows, ignore_index=True) if inv_rows else pd.DataFrame()
    schemes["n_investors"] = investors.groupby("scheme")["person_idx"].nunique().reindex(
        range(len(schemes)), fill_value=0).to_numpy() if len(investors) else 0

    # ---- payroll firms and employees
    taken = set(schemes["firm_idx"].tolist())
    ind = firms["industry_code"].to_numpy()
    cand = np.flatnonzero(np.isin(ind, PAYROLL_INDUSTRIES) & (f_acc >= 0))
    cand = np.array([c for c in cand.tolist() if c not in taken])
    pay_f = rng.choice(cand, size=min(n_payroll, len(cand)), replace=False)
    taken |= set(pay_f.tolist())
    payroll = pd.DataFrame({"firm_idx": pay_f, "acct": f_acc[pay_f], "pay_day": rng.integers(5, 16, size=len(pay_f))})
    n_emp = np.maximum((rng.integers(8, 80, size=len(pay_f)) * scale).astype(int), 5)
    workers = np.flatnonzero((age >= 20) & (age < 60) & (p_acc >= 0))
    emp = rng.choice(workers, size=min(int(n_emp.sum()), len(workers)), replace=False)
    n_emp[-1] -= int(n_emp.sum()) - len(emp)
    employees = pd.DataFrame({
        "payroll": np.repeat(np.arange(len(pay_f)), n_emp), "person_idx": emp, "acct": p_acc[emp],
        "salary": (np.exp(rng.normal(np.log(6500), 0.45, size=len(emp))) * 100).astype(np.int64),
    })

    # ---- merchants and their suppliers
    cand = np.flatnonzero(np.isin(ind, MERCHANT_INDUSTRIES) & (f_acc >= 0))
    cand = np.array([c for c in cand.tolist() if c not in taken])
    mer_f = rng.choice(cand, size=min(n_merchants, len(cand)), replace=False)
    merchants = pd.DataFrame({"firm_idx": mer_f, "acct": f_acc[mer_f],
                              "rate": rng.uniform(20, 100, size=len(mer_f)) * scale,
                              "elderly_bias": rng.choice([1.0, 3.0], size=len(mer_f), p=[0.6, 0.4])})
    n_sup = rng.integers(2, 6, size=len(mer_f))
    sup_pool = np.flatnonzero((f_acc >= 0) & np.isin(ind, ("C", "F", "A")))
    suppliers = pd.DataFrame({"merchant": np.repeat(np.arange(len(mer_f)), n_sup),
                              "acct": f_acc[rng.choice(sup_pool, size=int(n_sup.sum()))]})

    # ---- pensioners
    pen = np.flatnonzero(elderly & (p_acc >= 0) & (rng.random(n_p) < pension_share))
    pensioners = pd.DataFrame({
        "person_idx": pen, "acct": p_acc[pen],
        "amount": (rng.uniform(1800, 6500, size=len(pen)) * 100).astype(np.int64),
        "pay_day": rng.integers(10, 21, size=len(pen)),
        "deposit_prob": rng.uniform(0.0, 0.12, size=len(pen)),
    })
    return Patterns(schemes=schemes, scheme_accounts=scheme_accounts, controllers=controllers, investors=investors,
                    payroll=payroll, employees=employees, merchants=merchants, suppliers=suppliers,
                    pensioners=pensioners)


def _primary(accounts: pd.DataFrame, holder_type: int, n: int, exclude_scheme: bool = False) -> np.ndarray:
    a = accounts[accounts["holder_type"] == holder_type]
    if exclude_scheme and "scheme" in a:
        a = a[a["scheme"].isna()]
    a = a[a["open_month"] <= 0]
    first = a.groupby("holder_idx", sort=True).head(1)
    out = np.full(n, -1, dtype=np.int64)
    out[first["holder_idx"].to_numpy()] = first.index.to_numpy()
    return out
