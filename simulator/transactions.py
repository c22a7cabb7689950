"""The TRANSACTION dataset, one month at a time.

:func:`month_transactions` draws month ``m`` from its own stream (``transactions``/``m``), so months
are independent: the ``large`` preset generates and writes one month at a time (memory bounded by a
month), and ``simulate advance`` can add a month. Everything is vectorised over transfers.

A *transfer* moves money between two parties; it becomes one row per side held at a supervised bank
(a transfer between two customer accounts gives two rows, one at each bank, with directions 付 and 收).
Parties that are not customer accounts (institutions' internal accounts, the social-security fund,
cash) have no row of their own. Planted flows come from :mod:`.patterns`; background traffic fills the
month up to the preset's target: person-to-person, person-to-firm, firm-to-firm, firm-to-person and
cash deposits and withdrawals, with heavy-tailed activity per account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from include.registry.datasets import TRANSACTION
from simulator.banking import internal_account, month_index
from simulator.patterns import Patterns
from simulator.rng import stream

CHANNELS = ("柜面", "网上银行", "手机银行", "ATM", "POS", "第三方支付", "批量代发", "代扣")
CH = {c: i for i, c in enumerate(CHANNELS)}
PURPOSE_TEXT = (
    None, "转账", "红包", "生活费", "借款", "还款", "货款", "服务费", "工程款", "往来款", "房租", "报销", "劳务费",
    "现金存入", "现金支取", "消费", "扫码支付", "POS消费", "工资", "代发工资", "贷款还款", "养老金", "定期存款",
    "购买理财产品", "投资款", "会员费", "认购款", "理财", "返息", "利息", "收益", "分红", "购物", "水电费",
)
PU = {p: i for i, p in enumerate(PURPOSE_TEXT) if p}
PU_BLANK = 0


@dataclass
class TxnContext:
    """Static arrays the monthly generator needs (built once per world)."""

    months: list[date]
    seed: int
    target_per_month: int
    party_no: np.ndarray  # account number per party (object; None for cash)
    party_inst: np.ndarray  # institution code holding the party (object; None for cash)
    party_name: np.ndarray  # holder name (object)
    n_accounts: int  # parties [0, n_accounts) are customer accounts (they get rows)
    acc_open_month: np.ndarray
    acc_close_month: np.ndarray
    acc_holder_type: np.ndarray
    acc_weight: np.ndarray  # background activity weight
    acc_elderly: np.ndarray
    repay_party: np.ndarray  # per institution: its loan-repayment internal account party
    td_party: np.ndarray  # per institution: time-deposit internal account
    wm_party: np.ndarray  # per institution: wealth-management internal account
    ss_party: int  # the social-security fund
    cash_party: int
    acc_inst_idx: np.ndarray
    patterns: Patterns
    repay: pd.DataFrame  # personal loan instalments: acct, lender inst_idx, amount, day, start_m, end_m


def build_context(*, seed: int, months: list[date], inst: pd.DataFrame, accounts: pd.DataFrame,
                  persons: pd.DataFrame, firms: pd.DataFrame, loans: pd.DataFrame, patterns: Patterns,
                  n_transactions: int, elderly: np.ndarray, base_months: int | None = None) -> TxnContext:
    """``base_months`` (default: all of ``months``) spreads ``n_transactions`` over the base window, so
    months added later (``simulate advance``) get the same monthly volume."""
    n_acc = len(accounts)
    n_inst = len(inst)
    ht = accounts["holder_type"].to_numpy()
    hi = accounts["holder_idx"].to_numpy()
    names = np.where(ht == 1, firms["name"].to_numpy()[np.where(ht == 1, hi, 0)],
                     persons["name"].to_numpy()[np.where(ht == 0, hi, 0)])
    bank_no = np.arange(n_inst) + 1001
    inst_codes = inst["institution_code"].to_numpy()
    inst_names = inst["name"].to_numpy()
    ext_no = [internal_account(int(b), k) for b in bank_no for k in (1, 2, 3)]
    ext_inst = np.repeat(inst_codes, 3)
    ext_name = np.repeat(inst_names, 3)
    big = int(np.argmin(inst["size_tier"].to_numpy()))
    party_no = np.concatenate([accounts["account_no"].to_numpy(), np.array(ext_no, dtype=object),
                               np.array([internal_account(int(bank_no[big]), 8), None], dtype=object)])
    party_inst = np.concatenate([accounts["institution_code"].to_numpy(), ext_inst,
                                 np.array([inst_codes[big], None], dtype=object)])
    party_name = np.concatenate([names, ext_name, np.array(["社会保险基金管理中心", None], dtype=object)])
    rng = stream(seed, "transactions", "static")
    weight = np.exp(rng.normal(0, 1.0, size=n_acc)) * np.where(ht == 1, 2.0, 1.0)
    scheme_acc = accounts["scheme"].notna().to_numpy() if "scheme" in accounts else np.zeros(n_acc, bool)
    weight[scheme_acc] = 0.0  # collection accounts carry only the scheme's own flows
    # personal loan instalments (hard negative: equal monthly payments)
    p_first = accounts[(ht == 0) & (accounts["open_month"].to_numpy() <= 0)].groupby("holder_idx").head(1)
    acct_of_person = pd.Series(p_first.index.to_numpy(), index=p_first["holder_idx"].to_numpy())
    pl = loans[(loans["holder_type"] == 0) & loans["amortising"]]
    acct = acct_of_person.reindex(pl["holder_idx"].to_numpy()).to_numpy()
    ok = ~np.isnan(acct)
    pl = pl[ok]
    r = pl["rate"].to_numpy() / 1e4 / 100 / 12
    term = pl["term"].to_numpy().astype(float)
    c = pl["contract"].to_numpy().astype(float)
    instal = np.where(r > 0, c * r / (1 - (1 + r) ** -term), c / term)
    start_m = month_index(pl["start_date"].to_numpy(), months)
    mat_m = month_index(pl["maturity_date"].to_numpy(), months)
    dm = pl["default_month"].to_numpy()
    end_m = np.where(dm != -99, np.minimum(dm, mat_m), mat_m)
    repay = pd.DataFrame({
        "acct": acct[ok].astype(np.int64), "lender": pl["inst_idx"].to_numpy(),
        "amount": np.round(instal).astype(np.int64), "day": pl["start_date"].dt.day.clip(upper=28).to_numpy(),
        "start_m": start_m, "end_m": end_m, "loan_row": pl.index.to_numpy(),
    })
    return TxnContext(
        months=list(months), seed=seed, target_per_month=max(1, n_transactions // (base_months or len(months))),
        party_no=party_no, party_inst=party_inst, party_name=party_name, n_accounts=n_acc,
        acc_open_month=accounts["open_month"].to_numpy(), acc_close_month=accounts["close_month"].to_numpy(),
        acc_holder_type=ht, acc_weight=weight, acc_elderly=np.where(ht == 0, elderly[np.where(ht == 0, hi, 0)], False),
        repay_party=n_acc + 3 * np.arange(n_inst), td_party=n_acc + 3 * np.arange(n_inst) + 1,
        wm_party=n_acc + 3 * np.arange(n_inst) + 2, ss_party=n_acc + 3 * n_inst, cash_party=n_acc + 3 * n_inst + 1,
        acc_inst_idx=accounts["inst_idx"].to_numpy(), patterns=patterns, repay=repay,
    )


class _Batch:
    """Accumulates transfers: src, dst (party indices), amount (fen), day (1..31), second of day,
    channel, purpose."""

    def __init__(self) -> None:
        self.parts: list[tuple] = []

    def add(self, src, dst, amount, day, sec, channel, purpose) -> None:
        n = len(amount)
        if n == 0:
            return
        b = lambda v, dt: np.broadcast_to(np.asarray(v, dtype=dt), (n,))  # noqa: E731
        self.parts.append((b(src, np.int64), b(dst, np.int64), b(amount, np.int64), b(day, np.int64),
                           b(sec, np.int64), b(channel, np.int8), b(purpose, np.int16)))

    def arrays(self):
        if not self.parts:
            z = np.zeros(0, np.int64)
            return z, z, z, z, z, z.astype(np.int8), z.astype(np.int16)
        return tuple(np.concatenate([p[i] for p in self.parts]) for i in range(7))

    @property
    def size(self) -> int:
        return sum(len(p[2]) for p in self.parts)


def _secs(rng, n, lo_h=8, hi_h=22):
    return rng.integers(lo_h * 3600, hi_h * 3600, size=n)


def month_transactions(ctx: TxnContext, m: int) -> pd.DataFrame:
    """The TRANSACTION rows of month ``m`` (index into ``ctx.months``) for every bank."""
    rng = stream(ctx.seed, "transactions", str(m))
    month = ctx.months[m]
    days_in_month = month.day
    p = ctx.patterns
    bt = _Batch()
    open_now = (ctx.acc_open_month < m) & ((ctx.acc_close_month < 0) | (ctx.acc_close_month > m))

    # ---- schemes
    sch = p.schemes
    for i, s in enumerate(sch.itertuples(index=False)):
        end = s.collapse_month if s.collapse_month >= 0 else len(ctx.months)
        if not (s.start_month <= m <= end) or (m == end and s.collapse_month < 0):
            continue
        coll = p.scheme_accounts.loc[p.scheme_accounts["scheme_id"] == s.scheme_id, "acct"].to_numpy()
        ctrl = p.controllers.loc[p.controllers["scheme_id"] == s.scheme_id, "acct"].to_numpy()
        inv = p.investors[p.investors["scheme"] == i]
        inflow = 0
        if m < end:
            new = inv[inv["join_month"] == m]
            top = inv[inv["topup_month"] == m]
            src = np.r_[new["acct"].to_numpy(), top["acct"].to_numpy()]
            amt = np.r_[new["principal"].to_numpy(), top["topup"].to_numpy()]
            k = len(src)
            if k:
                style = rng.random(k)
                purpose = np.where(style < 0.7, PU[s.inflow_purpose], np.where(style < 0.85, PU_BLANK, PU["货款"]))
                eld = ctx.acc_elderly[src]
                ch = np.where(eld & (rng.random(k) < 0.6), CH["柜面"], np.where(rng.random(k) < 0.7, CH["手机银行"],
                                                                            CH["网上银行"]))
                bt.add(src, coll[rng.integers(len(coll), size=k)], amt, rng.integers(1, days_in_month + 1, size=k),
                       _secs(rng, k, 8, 18), ch, purpose)
                inflow = int(amt.sum())
            payees = inv[inv["join_month"] < m]
            tops = inv[(inv["topup_month"] >= 0) & (inv["topup_month"] < m)]
            k = len(payees)
            if k:
                amt = payees["payout"].to_numpy() + np.round(tops.set_index("person_idx")["topup"].reindex(
                    payees["person_idx"]).fillna(0).to_numpy() * s.monthly_rate / 100).astype(np.int64) * 100
                purpose = np.where(rng.random(k) < 0.9, PU[s.payout_purpose], PU_BLANK)
                bt.add(coll[rng.integers(len(coll), size=k)], payees["acct"].to_numpy(), amt, s.pay_day,
                       rng.integers(9 * 3600, 11 * 3600, size=k), CH["网上银行"], purpose)
            out_total = inflow * rng.uniform(0.5, 0.8)
        else:  # collapse month: the rest goes to the controllers
            paid_in = int(inv.loc[inv["join_month"] < m, "principal"].sum())
            out_total = paid_in * rng.uniform(0.2, 0.4)
        if out_total > 0 and len(ctrl):
            k = int(rng.integers(2, 7))
            share = rng.dirichlet(np.ones(k))
            amt = (np.round(out_total * share / 100_000) * 100_000).astype(np.int64)
            amt = amt[amt > 0]
            k = len(amt)
            bt.add(coll[rng.integers(len(coll), size=k)], ctrl[rng.integers(len(ctrl), size=k)], amt,
                   rng.integers(1, days_in_month + 1, size=k), _secs(rng, k, 9, 17), CH["网上银行"],
                   rng.choice([PU["往来款"], PU["借款"], PU["货款"]], size=k))

    # ---- payroll (equal monthly salaries, 3-8% raise each January after the first year)
    emp = p.employees
    if len(emp):
        pay = p.payroll
        year_off = ctx.months[m].year - ctx.months[0].year
        raise_ = (1.0 + 0.05) ** year_off
        amt = np.round(emp["salary"].to_numpy() * raise_).astype(np.int64)
        firm_acc = pay["acct"].to_numpy()[emp["payroll"].to_numpy()]
        ok = open_now[emp["acct"].to_numpy()] & open_now[firm_acc]
        k = int(ok.sum())
        day = pay["pay_day"].to_numpy()[emp["payroll"].to_numpy()]
        bt.add(firm_acc[ok], emp["acct"].to_numpy()[ok], amt[ok], day[ok],
               rng.integers(9 * 3600, 10 * 3600, size=k), CH["批量代发"],
               np.where(rng.random(k) < 0.5, PU["工资"], PU["代发工资"]))

    # ---- merchants: many small irregular inflows, a few supplier payments
    mer = p.merchants
    if len(mer):
        n_cust = rng.poisson(mer["rate"].to_numpy())
        mi = np.repeat(np.arange(len(mer)), n_cust)
        k = len(mi)
        persons_acc = np.flatnonzero(open_now[: ctx.n_accounts] & (ctx.acc_holder_type == 0))
        payer = persons_acc[rng.integers(len(persons_acc), size=k)]
        bias = mer["elderly_bias"].to_numpy()[mi] > 1
        eld_pool = persons_acc[ctx.acc_elderly[persons_acc]]
        if len(eld_pool):
            swap = bias & (rng.random(k) < 0.3)
            payer[swap] = eld_pool[rng.integers(len(eld_pool), size=int(swap.sum()))]
        amt = np.round(np.exp(rng.normal(np.log(120), 0.9, size=k)) * 100).astype(np.int64).clip(100)
        bt.add(payer, mer["acct"].to_numpy()[mi], amt, rng.integers(1, days_in_month + 1, size=k),
               _secs(rng, k, 8, 22),
               rng.choice([CH["POS"], CH["第三方支付"], CH["手机银行"]], size=k, p=[0.4, 0.45, 0.15]),
               rng.choice([PU["消费"], PU["扫码支付"], PU["POS消费"], PU["购物"]], size=k))
        takings = np.bincount(mi, weights=amt, minlength=len(mer))
        sup = p.suppliers
        share = rng.uniform(0.3, 0.5, size=len(sup))
        n_sup = np.bincount(sup["merchant"].to_numpy(), minlength=len(mer))
        sm = sup["merchant"].to_numpy()
        s_amt = np.round(takings[sm] * share * 2 / n_sup[sm]).astype(np.int64)
        keep = s_amt > 0
        ks = int(keep.sum())
        bt.add(mer["acct"].to_numpy()[sup["merchant"].to_numpy()][keep], sup["acct"].to_numpy()[keep], s_amt[keep],
               rng.integers(1, days_in_month + 1, size=ks), _secs(rng, ks, 9, 17), CH["网上银行"], PU["货款"])

    # ---- personal loan repayments (equal instalments, auto-debit)
    rp = ctx.repay
    live = (rp["start_m"].to_numpy() < m) & (rp["end_m"].to_numpy() > m)
    live &= open_now[rp["acct"].to_numpy()]
    k = int(live.sum())
    bt.add(rp["acct"].to_numpy()[live], ctx.repay_party[rp["lender"].to_numpy()[live]], rp["amount"].to_numpy()[live],
           np.minimum(rp["day"].to_numpy()[live], days_in_month), rng.integers(0, 6 * 3600, size=k), CH["代扣"],
           PU["贷款还款"])

    # ---- pensions (equal monthly, +3% each July) and round-sum deposits into time deposits / WMPs
    pen = p.pensioners
    if len(pen):
        july = sum(1 for mm in ctx.months[: m + 1] if mm.month == 7 and mm != ctx.months[0])
        ok = open_now[pen["acct"].to_numpy()]
        amt = np.round(pen["amount"].to_numpy() * 1.03**july).astype(np.int64)
        k = int(ok.sum())
        bt.add(ctx.ss_party, pen["acct"].to_numpy()[ok], amt[ok], pen["pay_day"].to_numpy()[ok],
               rng.integers(1 * 3600, 7 * 3600, size=k), CH["批量代发"], PU["养老金"])
        dep = ok & (rng.random(len(pen)) < pen["deposit_prob"].to_numpy())
        k = int(dep.sum())
        acc = pen["acct"].to_numpy()[dep]
        wm = rng.random(k) < 0.4
        inst = ctx.acc_inst_idx[acc]
        bt.add(acc, np.where(wm, ctx.wm_party[inst], ctx.td_party[inst]),
               10_000_00 * rng.choice([1, 2, 3, 5, 10], size=k, p=[0.3, 0.25, 0.15, 0.2, 0.1]),
               rng.integers(1, days_in_month + 1, size=k), _secs(rng, k, 9, 16),
               np.where(rng.random(k) < 0.7, CH["柜面"], CH["手机银行"]),
               np.where(wm, PU["购买理财产品"], PU["定期存款"]))

    # ---- background: fill to the month's target (rows); at least 20% of it
    planted_rows = _row_count(bt, ctx.n_accounts)
    target_rows = max(ctx.target_per_month - planted_rows, ctx.target_per_month // 5)
    _background(rng, ctx, bt, open_now, m, int(target_rows / 1.9), days_in_month)
    return _to_rows(ctx, bt, m, rng)


def _row_count(bt: _Batch, n_accounts: int) -> int:
    src, dst, *_ = bt.arrays()
    return int((src < n_accounts).sum() + (dst < n_accounts).sum())


def _background(rng, ctx: TxnContext, bt: _Batch, open_now: np.ndarray, m: int, n: int, dim: int) -> None:
    ok = open_now[: ctx.n_accounts] & (ctx.acc_weight > 0)
    pers = np.flatnonzero(ok & (ctx.acc_holder_type == 0))
    firm = np.flatnonzero(ok & (ctx.acc_holder_type == 1))
    if not len(pers) or not len(firm):
        return
    wp = ctx.acc_weight[pers] / ctx.acc_weight[pers].sum()
    wf = ctx.acc_weight[firm] / ctx.acc_weight[firm].sum()
    kind = rng.choice(5, size=n, p=[0.35, 0.2, 0.22, 0.08, 0.15])
    counts = np.bincount(kind, minlength=5)

    def pick_p(k):
        return pers[rng.choice(len(pers), size=k, p=wp)]

    def pick_f(k):
        return firm[rng.choice(len(firm), size=k, p=wf)]

    k = counts[0]  # person -> person
    amt = np.exp(rng.normal(np.log(600), 1.2, size=k))
    amt = np.where(rng.random(k) < 0.6, np.round(amt / 100) * 100, np.round(amt, 2)).clip(1) * 100
    bt.add(pick_p(k), pick_p(k), amt.astype(np.int64), rng.integers(1, dim + 1, size=k), _secs(rng, k, 7, 23),
           rng.choice([CH["手机银行"], CH["网上银行"], CH["第三方支付"], CH["柜面"]], size=k, p=[0.55, 0.2, 0.2, 0.05]),
           rng.choice([PU["转账"], PU["红包"], PU["生活费"], PU["借款"], PU["还款"], PU_BLANK], size=k,
                      p=[0.4, 0.15, 0.15, 0.08, 0.07, 0.15]))
    k = counts[1]  # person -> firm
    amt = (np.round(np.exp(rng.normal(np.log(1500), 1.1, size=k)), 2) * 100).astype(np.int64).clip(100)
    bt.add(pick_p(k), pick_f(k), amt, rng.integers(1, dim + 1, size=k), _secs(rng, k, 8, 22),
           rng.choice([CH["手机银行"], CH["网上银行"], CH["第三方支付"]], size=k),
           rng.choice([PU["货款"], PU["服务费"], PU["房租"], PU["水电费"], PU["购物"]], size=k))
    k = counts[2]  # firm -> firm
    amt = (np.round(np.exp(rng.normal(np.log(60_000), 1.4, size=k)), 2) * 100).astype(np.int64).clip(100)
    bt.add(pick_f(k), pick_f(k), amt, rng.integers(1, dim + 1, size=k), _secs(rng, k, 9, 18),
           rng.choice([CH["网上银行"], CH["柜面"]], size=k, p=[0.85, 0.15]),
           rng.choice([PU["货款"], PU["服务费"], PU["工程款"], PU["往来款"], PU["房租"]], size=k,
                      p=[0.45, 0.2, 0.1, 0.15, 0.1]))
    k = counts[3]  # firm -> person
    amt = (np.round(np.exp(rng.normal(np.log(3000), 0.9, size=k)), 2) * 100).astype(np.int64).clip(100)
    bt.add(pick_f(k), pick_p(k), amt, rng.integers(1, dim + 1, size=k), _secs(rng, k, 9, 18), CH["网上银行"],
           rng.choice([PU["报销"], PU["劳务费"], PU["服务费"]], size=k))
    k = counts[4]  # cash in / out
    who = pick_p(k)
    amt = (np.round(np.exp(rng.normal(np.log(2000), 1.0, size=k)) / 100).clip(1) * 100 * 100).astype(np.int64)
    dep = rng.random(k) < 0.5
    bt.add(np.where(dep, ctx.cash_party, who), np.where(dep, who, ctx.cash_party), amt,
           rng.integers(1, dim + 1, size=k), _secs(rng, k, 8, 21),
           np.where(rng.random(k) < 0.6, CH["ATM"], CH["柜面"]), np.where(dep, PU["现金存入"], PU["现金支取"]))


def _to_rows(ctx: TxnContext, bt: _Batch, m: int, rng: np.random.Generator) -> pd.DataFrame:
    src, dst, amount, day, sec, channel, purpose = bt.arrays()
    same = src == dst
    src, dst, amount, day, sec, channel, purpose = (a[~same] for a in (src, dst, amount, day, sec, channel, purpose))
    n_acc = ctx.n_accounts
    out_side = src < n_acc
    in_side = dst < n_acc
    subj = np.concatenate([src[out_side], dst[in_side]])
    cp = np.concatenate([dst[out_side], src[in_side]])
    direction = np.concatenate([np.zeros(out_side.sum(), np.int8), np.ones(in_side.sum(), np.int8)])
    sel = np.concatenate([np.flatnonzero(out_side), np.flatnonzero(in_side)])
    month = ctx.months[m]
    first = np.datetime64(month, "M").astype("datetime64[s]")
    day_c = np.minimum(day[sel], month.day)
    ts = first + ((day_c - 1) * 86400 + sec[sel]).astype("timedelta64[s]")
    inst = ctx.party_inst[subj]
    order = np.lexsort((ts, subj.astype(np.int64), ctx.acc_inst_idx[subj]))
    subj, cp, direction, sel, ts, inst = subj[order], cp[order], direction[order], sel[order], ts[order], inst[order]
    n = len(subj)
    seq = np.arange(1, n + 1)
    tid = np.char.add(f"T{month:%Y%m}", np.char.zfill(seq.astype(str), 10)).astype(object)
    frame = pd.DataFrame({
        "institution_code": inst,
        "report_period": np.full(n, np.datetime64(month, "D")),
        "txn_id": tid,
        "account_no": ctx.party_no[subj],
        "txn_time": ts,
        "direction": np.array(["付", "收"], dtype=object)[direction],
        "amount": amount[sel],
        "channel": np.array(CHANNELS, dtype=object)[channel[sel]],
        "counterparty_account": ctx.party_no[cp],
        "counterparty_name": ctx.party_name[cp],
        "counterparty_institution_code": ctx.party_inst[cp],
        "purpose": np.array(PURPOSE_TEXT, dtype=object)[purpose[sel]],
    })
    return frame[TRANSACTION.column_names]
