"""The institution simulator: a synthetic but realistic regulated universe that delivers regulatory
submissions into the landing zone, plus the ground truth to grade the pipeline.

Layout (one module per concern, each drawing from its own named random stream, see :mod:`.rng`):

* :mod:`.ids` identifiers (USCC, resident ID, LEI, licence numbers), pure functions
* :mod:`.geography` provinces, cities, supervising bureaus
* :mod:`.universe` institutions of every registered type
* :mod:`.names`, :mod:`.entities` persons, firms, shareholders, developers' balance sheets
* :mod:`.health` latent health per institution and quarter (drives every indicator)
* :mod:`.banking` accounts, customers, loans (monthly life, five categories), guarantees
* :mod:`.patterns` planted fundraising schemes and the hard negatives that resemble them
* :mod:`.transactions` the TRANSACTION dataset, one month at a time
* :mod:`.prudential` INSTITUTION and CAPITAL_REPORT; :mod:`.reports` the other quarterly reports
* :mod:`.supervision` the regulator's own records (ratings, interventions, cases) as REG0000
* :mod:`.schedule` submission timestamps (weak institutions submit late)
* :mod:`.landing` landing-zone writer (manifest + CSV files, atomic per submission)
* :mod:`.ground_truth` the answers, beside the landing zone
* :mod:`.presets` run sizes and knobs; :mod:`.docs` the README's dataset table

:func:`build_world` simulates in memory (no I/O): every dataset is a frame in ``World.frames``
(except transactions when the preset streams them: :meth:`World.transactions` generates a month on
demand; and loans and guarantees when it streams loans: :meth:`World.loans` makes a month's snapshots
on demand). :func:`write_world` is the one writer: month by month it takes :meth:`World.month_frames`
(a hook for defect injection sits between the two), writes one submission per institution and month,
then the ground truth. The same seed and preset give byte-identical files.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from include.registry.datasets import (
    ACCOUNT,
    CUSTOMER_CORPORATE,
    CUSTOMER_INDIVIDUAL,
    DATASETS,
    GUARANTEE,
    LOAN,
    REGULATOR_CODE,
)
from simulator import banking as bk
from simulator import defects as _defects
from simulator import ground_truth as _gt
from simulator.entities import (
    ages_at,
    build_firms,
    build_persons,
    build_shareholders,
    developer_financials,
)
from simulator.health import HealthPanel, simulate_health
from simulator.landing import format_frame, write_submission
from simulator.patterns import Patterns, plan_patterns, scheme_extra_accounts
from simulator.periods import month_end, month_ends, quarter_ends
from simulator.presets import PRESETS, Preset, get_preset
from simulator.prudential import MIN_RATIOS, capital_ratios, institution_records
from simulator.reports import loan_book, prudential_reports
from simulator.rng import Extension, stream
from simulator.schedule import DEADLINE_DAYS, submission_times
from simulator.supervision import supervise
from simulator.transactions import TxnContext, build_context, month_transactions
from simulator.universe import Universe, build_universe

__all__ = ["PRESETS", "Preset", "World", "advance", "build_world", "generate", "write_external", "write_world"]

MonthHook = Callable[["World", int, dict[str, pd.DataFrame]], dict[str, pd.DataFrame]]
#: a month's dataset with more rows is formatted one submission at a time (``write_world``)
BIG_MONTH_ROWS = 500_000


@dataclass
class World:
    """Everything simulated for one run, before it is written.

    ``periods`` are quarter ends (prudential reports, ratings, ``health``); ``months`` are month ends
    (detail datasets; every submission is for a month). ``frames`` maps dataset name -> all its rows
    (money as int64 fen); ``transaction`` is absent when the preset streams it, ``loan`` and
    ``guarantee`` when it streams loans (``loan_detail`` makes them a month at a time).
    """

    preset: Preset
    seed: int
    periods: list[date]
    universe: Universe
    health: HealthPanel
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    months: list[date] = field(default_factory=list)
    persons: pd.DataFrame | None = None
    firms: pd.DataFrame | None = None
    shareholders: pd.DataFrame | None = None
    developers: pd.DataFrame | None = None  # quarterly "three red lines" balance sheets
    banking: bk.Banking | None = None
    patterns: Patterns | None = None
    schemes: pd.DataFrame | None = None  # scheme_id, firm_uscc, start_month, collapse_month, n_investors, ...
    events: pd.DataFrame | None = None  # institution events (ground truth)
    submitted_at: dict = field(default_factory=dict)  # (code, month) -> datetime
    lateness: pd.DataFrame | None = None
    txn_context: TxnContext | None = None
    health_ahead: HealthPanel | None = None  # ``health`` plus the quarter of the last month if not yet reported
    base_months: int | None = None  # months of the base window (the rest continue it: ``simulate advance``)
    loan_detail: LoanDetail | None = None  # set when the preset streams loans (``loan``/``guarantee`` not in frames)
    overdue_firms: pd.DataFrame | None = None  # uscc, first_overdue_month (external feeds) when loans stream

    # ---- month access (the writer, defect injection and `simulate advance` go through these)
    def transactions(self, m: int) -> pd.DataFrame:
        """TRANSACTION rows of month index ``m`` (from memory, or generated when streaming)."""
        if "transaction" in self.frames:
            f = self.frames["transaction"]
            return f[f["report_period"].to_numpy().astype("datetime64[D]") == np.datetime64(self.months[m], "D")]
        return month_transactions(self.txn_context, m)

    def loans(self, m: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """LOAN and GUARANTEE rows of month index ``m`` (from memory, or made when streaming)."""
        if self.loan_detail is None:
            target = np.datetime64(self.months[m], "D")
            return tuple(f[f["report_period"].to_numpy().astype("datetime64[D]") == target]
                         for f in (self.frames["loan"], self.frames["guarantee"]))
        return self.loan_detail.frames(self.loan_detail.snapshots([m]))

    def month_frames(self, m: int, transactions: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
        """Every dataset's rows for month index ``m``, in registry order (empty ones left out);
        ``transactions`` are the month's TRANSACTION rows if already made."""
        target = np.datetime64(self.months[m], "D")
        out = {}
        streamed = dict(zip(("loan", "guarantee"), self.loans(m), strict=True)) if self.loan_detail else {}
        for name, ds in DATASETS.items():
            if name == "transaction":
                f = self.transactions(m) if transactions is None else transactions
            elif name in streamed:
                f = streamed[name]
            elif name in self.frames:
                f = self.frames[name]
                f = f[f[ds.period_column].to_numpy().astype("datetime64[D]") == target]
            else:
                continue
            if len(f):
                out[name] = f
        return out


@dataclass
class LoanDetail:
    """What the LOAN and GUARANTEE rows are made of (loans, guarantees, the lenders' health, the
    under-classification draws); :meth:`snapshots` and :meth:`frames` make any months' rows, all at once
    (in-memory presets) or one month at a time (``Preset.stream_loans``: memory bounded by a month)."""

    inst: pd.DataFrame
    persons: pd.DataFrame
    firms: pd.DataFrame
    loans: pd.DataFrame
    guarantees: pd.DataFrame
    months: list[date]
    health: HealthPanel
    hide: np.ndarray

    def snapshots(self, month_idx: list[int] | None = None) -> pd.DataFrame:
        return bk.month_snapshots(self.loans, self.months, self.health, self.hide, month_idx)

    def frames(self, snaps: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The LOAN and GUARANTEE frames of ``snaps`` (sorted by their keys, so independent of the
        snapshots' order)."""
        return (_loan_frame(self.inst, self.persons, self.firms, self.loans, snaps, self.months),
                _guarantee_frame(self.inst, self.persons, self.firms, self.loans, self.guarantees, snaps, self.months))

    def summaries(self, quarters: list[date]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
        """One pass month by month: (the under-classified snapshots ordered as :func:`bk.loan_snapshots`
        orders them, the quarter-end loan books of :func:`loan_book`, firms' first overdue month)."""
        qe = set(quarters)
        under, books, overdue = [], [], []
        is_firm = self.loans["holder_type"].to_numpy() == 1
        uscc = self.firms["uscc"].to_numpy()[np.where(is_firm, self.loans["holder_idx"].to_numpy(), 0)]
        for m, month in enumerate(self.months):
            s = self.snapshots([m])
            under.append(s[s["understated"].to_numpy()])
            od = s[(s["overdue_days"].to_numpy() > 0) & is_firm[s["li"].to_numpy()]]
            overdue.append(pd.DataFrame({"borrower_uscc": uscc[od["li"].to_numpy()],
                                         "report_period": _dates(self.months, od["mi"].to_numpy()),
                                         "overdue_days": od["overdue_days"].to_numpy()}))
            if month in qe:
                books.append(loan_book(_loan_frame(self.inst, self.persons, self.firms, self.loans, s, self.months),
                                       quarters))
        understated = pd.concat(under, ignore_index=True).sort_values(["li", "mi"], kind="stable")
        book = (pd.concat(books, ignore_index=True).sort_values(["institution_code", "report_period"], kind="stable")
                .reset_index(drop=True))
        from simulator.external.inputs import _overdue_from_frames

        return understated, book, _overdue_from_frames({"loan": pd.concat(overdue, ignore_index=True)})


def _quarter_of_month(months: list[date], quarters: list[date]) -> np.ndarray:
    return np.searchsorted(np.array(quarters, dtype="datetime64[D]"), np.array(months, dtype="datetime64[D]"))


def build_world(preset: str | Preset = "tiny", seed: int = 7) -> World:
    """Simulate the population and every dataset in memory.

    With ``preset.extra_months = k`` the world is the base world (``extra_months = 0``) continued by
    ``k`` months: everything in the base window is identical (every draw there comes from its stream
    with its base shape; plans such as onsets, scheme collapses and contagion stay planned over the
    base window), and what happens after it is drawn from per-month or per-quarter streams
    (:class:`~simulator.rng.Extension`), so the world with ``k`` extra months agrees with the one
    with ``k + 1`` on every month they share.
    """
    p = get_preset(preset) if isinstance(preset, str) else preset
    mb = p.n_months
    months = month_ends(p.window_end, mb + p.extra_months)
    base_months = months[:mb]
    q_after = sum(1 for m in months if m > p.last_period and m.month % 3 == 0)
    last_q = max(m for m in months if m.month % 3 == 0)
    quarters = quarter_ends(last_q, p.n_quarters + q_after)
    qb = p.n_quarters  # quarters of the base window
    extended = len(months) > mb
    # latent health runs through the quarter of the last month (a month after the base window takes its
    # own quarter's health, known before the quarter is reported)
    h_quarters = list(quarters)
    if extended and months[-1] > quarters[-1]:
        h_quarters.append(month_end(months[-1].year, (months[-1].month - 1) // 3 * 3 + 3))
    universe = build_universe(stream(seed, "universe"), p.n_institutions, established_before=quarters[0],
                              gb18030_share=p.gb18030_share, gzip_share=p.gzip_share)
    inst = universe.institutions
    health_ahead = simulate_health(stream(seed, "health"), inst, h_quarters,
                                   deteriorating_share=p.deteriorating_share, recovering_share=p.recovering_share,
                                   ext=Extension(seed, "health", h_quarters, qb))
    if extended:
        health_ahead.base_end, health_ahead.t_base = base_months[-1], qb
    health = health_ahead.head(len(quarters))
    persons = build_persons(stream(seed, "persons"), p.n_persons, p.last_period, elderly_share=p.elderly_share)
    firms = build_firms(stream(seed, "firms"), p.n_firms, persons, p.last_period, developer_share=p.developer_share)
    shareholders = build_shareholders(stream(seed, "shareholders"), firms, persons)
    developers = developer_financials(stream(seed, "developers"), firms, quarters,
                                      ext=Extension(seed, "developers", quarters, qb))
    stressed = np.zeros(len(firms), dtype=bool)
    if len(developers):  # planned over the base window
        base_q = developers["report_period"].to_numpy().astype("datetime64[D]") <= np.datetime64(quarters[qb - 1])
        worst = developers[base_q].groupby("uscc")["red_lines_breached"].max()
        stressed = firms["uscc"].map(worst).fillna(0).to_numpy() >= 2

    # banking: schemes need accounts of their own, planted guarantee groups need their own loans
    prng = stream(seed, "patterns")
    schemes, extra, planned_collapse = scheme_extra_accounts(prng, firms, inst, base_months, p.n_schemes)
    accounts = bk.build_accounts(stream(seed, "accounts"), inst, persons, firms, base_months,
                                 extra.drop(columns="scheme"))
    accounts["scheme"] = np.concatenate([np.full(len(accounts) - len(extra), np.nan), extra["scheme"].to_numpy()])
    grng = stream(seed, "guarantees")
    circles, chains, forced = _planted_groups(grng, firms, schemes, p)
    lrng = stream(seed, "loans")
    loans = bk.build_loans(lrng, inst, persons, firms, base_months, health_ahead,
                           firm_borrower_share=p.firm_borrower_share, mortgage_share=p.mortgage_share,
                           consumer_loan_share=p.consumer_loan_share, stressed_developers=stressed,
                           forced_firms=forced)
    loans["planted_group"] = None
    loans, circle_groups = bk.add_planted_loans(lrng, loans, inst, firms, base_months, health_ahead, circles,
                                                "circle", stressed)
    loans, chain_groups = bk.add_planted_loans(lrng, loans, inst, firms, base_months, health_ahead, chains,
                                               "chain", stressed)
    guarantees = bk.build_guarantees(grng, loans, firms, share=p.guarantee_share, circles=circle_groups,
                                     chains=chain_groups)
    n_base_loans = len(loans)
    if extended:  # defaults and renewals after the base window (renewals get the next ids)
        loans, guarantees = bk.continue_loans(loans, guarantees, months, mb, health_ahead, seed)
    loans["loan_id"] = np.char.add("L", np.char.zfill((np.arange(len(loans)) + 1).astype(str), 10)).astype(object)
    customers = bk.assign_customers(inst, accounts, loans, months)
    detail = LoanDetail(inst=inst, persons=persons, firms=firms, loans=loans, guarantees=guarantees, months=months,
                        health=health_ahead, hide=bk.understate_draws(loans, stream(seed, "understate"), n_base_loans))
    if p.stream_loans:  # a month at a time: only the under-classified loans, the quarter-end books, overdue firms
        understated, book, overdue_firms = detail.summaries(quarters)
    else:
        snaps = detail.snapshots()
        understated = snaps[snaps["understated"].to_numpy()]
        overdue_firms = None
    banking = bk.Banking(accounts=accounts, customers=customers, loans=loans, guarantees=guarantees,
                         circles=circle_groups, chains=chain_groups, understated=understated)

    patterns = plan_patterns(prng, inst=inst, persons=persons, firms=firms, accounts=accounts, loans=loans,
                             months=base_months, schemes=schemes, n_payroll=p.n_payroll, n_merchants=p.n_merchants,
                             pension_share=p.pension_share)
    if extended:  # a scheme planned to collapse just after the base window collapses when its month comes
        late = (schemes["collapse_month"].to_numpy() < 0) & (planned_collapse < len(months))
        schemes.loc[late, "collapse_month"] = planned_collapse[late]
        sch = accounts["scheme"].to_numpy()
        for i in np.flatnonzero(late):
            accounts.loc[sch == i, "close_month"] = int(planned_collapse[i])

    frames: dict[str, pd.DataFrame] = {"institution": institution_records(inst, months)}
    frames.update(_customer_frames(inst, persons, firms, customers, months))
    frames["account"] = _account_frame(accounts, months)
    if not p.stream_loans:
        frames["loan"], frames["guarantee"] = detail.frames(snaps)
        del snaps
        book = loan_book(frames["loan"], quarters)

    inv = patterns.investors
    raised = (inv.groupby("scheme")["principal"].sum() + inv[inv["topup_month"] >= 0].groupby("scheme")["topup"]
              .sum().reindex(range(len(schemes)), fill_value=0)) if len(inv) else pd.Series(dtype=float)
    schemes["raised"] = raised.reindex(range(len(schemes)), fill_value=0).astype(np.int64).to_numpy()
    schemes["firm_uscc"] = firms["uscc"].to_numpy()[schemes["firm_idx"].to_numpy()]
    elderly = ages_at(persons["birth_date"], p.last_period) >= 60
    ctx = build_context(seed=seed, months=months, inst=inst, accounts=accounts, persons=persons, firms=firms,
                        loans=loans, patterns=patterns, n_transactions=p.n_transactions, elderly=elderly,
                        base_months=mb)

    frames.update(prudential_reports(seed, inst, health, quarters, book=book, t_base=qb))
    dflt = loans[(loans["holder_type"] == 1) & (loans["default_month"] >= 0)]
    defaulted = pd.DataFrame({"firm_idx": dflt["holder_idx"].to_numpy(), "default_month": dflt["default_month"]
                              .to_numpy(), "amount": dflt["contract"].to_numpy()})
    sup, events = supervise(seed, inst, health, quarters, months, firms, schemes, defaulted, t_base=qb, m_base=mb)
    frames.update(sup)

    world = World(preset=p, seed=seed, periods=quarters, universe=universe, health=health, frames=frames,
                  months=months, persons=persons, firms=firms, shareholders=shareholders, developers=developers,
                  banking=banking, patterns=patterns, schemes=schemes, events=events, txn_context=ctx,
                  health_ahead=health_ahead, base_months=mb, loan_detail=detail if p.stream_loans else None,
                  overdue_firms=overdue_firms)
    if not p.stream_transactions:
        frames["transaction"] = pd.concat([month_transactions(ctx, m) for m in range(len(months))],
                                          ignore_index=True)
    _schedule(world)
    world.frames = {k: frames[k] for k in DATASETS if k in frames}
    unknown = set(frames) - set(DATASETS)
    assert not unknown, f"frames for unregistered datasets: {unknown}"
    return world


def _planted_groups(rng, firms: pd.DataFrame, schemes: pd.DataFrame, p: Preset):
    """Disjoint groups of active non-developer firms for guarantee circles (2-4) and chains (3-5)."""
    ok = (firms["status"] == "存续").to_numpy() & ~firms["is_developer"].to_numpy()
    ok[schemes["firm_idx"].to_numpy()] = False
    pool = rng.permutation(np.flatnonzero(ok))
    sizes_c = rng.integers(2, 5, size=p.n_guarantee_circles)
    sizes_ch = rng.integers(3, 6, size=p.n_guarantee_chains)
    cuts = np.cumsum(np.r_[sizes_c, sizes_ch])
    groups = np.split(pool[: cuts[-1]], cuts[:-1]) if len(cuts) else []
    circles = groups[: len(sizes_c)]
    chains = groups[len(sizes_c):]
    forced = pool[: cuts[-1]] if len(cuts) else np.zeros(0, dtype=int)
    return circles, chains, forced


def _dates(months: list[date], idx: np.ndarray) -> np.ndarray:
    return np.array(months, dtype="datetime64[D]")[idx]


def _customer_frames(inst, persons, firms, customers, months) -> dict[str, pd.DataFrame]:
    c = customers.copy()
    c["report_period"] = _dates(months, np.maximum(c["onboard_month"].to_numpy(), 0))
    corp = c[c["holder_type"] == 1]
    fi = corp["holder_idx"].to_numpy()
    rid_name = pd.Series(persons["name"].to_numpy(), index=persons["resident_id"].to_numpy())
    legal = firms["legal_rep_resident_id"].to_numpy()[fi]
    cc = pd.DataFrame({
        "institution_code": corp["institution_code"].to_numpy(), "report_period": corp["report_period"].to_numpy(),
        "customer_id": corp["customer_id"].to_numpy(), "uscc": firms["uscc"].to_numpy()[fi],
        "name": firms["name"].to_numpy()[fi], "industry_code": firms["industry_code"].to_numpy()[fi],
        "region_code": firms["region_code"].to_numpy()[fi],
        "registered_capital": firms["registered_capital"].to_numpy()[fi] * 100,
        "founded_date": firms["founded_date"].to_numpy()[fi], "legal_rep_name": rid_name.reindex(legal).to_numpy(),
        "legal_rep_resident_id": legal, "onboard_date": corp["since"].to_numpy(),
    })
    # A firm cannot become a customer before it exists (registry rule customer_corporate_founded_before_onboard).
    cc["onboard_date"] = np.maximum(cc["onboard_date"].to_numpy(), cc["founded_date"].to_numpy())
    ind = c[c["holder_type"] == 0]
    pi = ind["holder_idx"].to_numpy()
    ci = pd.DataFrame({
        "institution_code": ind["institution_code"].to_numpy(), "report_period": ind["report_period"].to_numpy(),
        "customer_id": ind["customer_id"].to_numpy(), "resident_id": persons["resident_id"].to_numpy()[pi],
        "name": persons["name"].to_numpy()[pi],
        "sex": np.where(persons["sex"].to_numpy()[pi] == "M", "男", "女").astype(object),
        "birth_date": persons["birth_date"].to_numpy()[pi], "phone": persons["phone"].to_numpy()[pi],
        "region_code": persons["region_code"].to_numpy()[pi], "onboard_date": ind["since"].to_numpy(),
    })
    ci["onboard_date"] = np.maximum(ci["onboard_date"].to_numpy(), ci["birth_date"].to_numpy())
    order = ["institution_code", "report_period", "customer_id"]
    return {"customer_corporate": _sorted(cc, order)[CUSTOMER_CORPORATE.column_names],
            "customer_individual": _sorted(ci, order)[CUSTOMER_INDIVIDUAL.column_names]}


def _sorted(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return df.sort_values(cols, kind="stable").reset_index(drop=True)


def _account_frame(accounts: pd.DataFrame, months: list[date]) -> pd.DataFrame:
    a = accounts
    base = pd.DataFrame({
        "institution_code": a["institution_code"].to_numpy(),
        "report_period": _dates(months, np.clip(a["open_month"].to_numpy(), 0, len(months) - 1)),
        "account_no": a["account_no"].to_numpy(), "customer_id": a["customer_id"].to_numpy(),
        "customer_type": np.where(a["holder_type"].to_numpy() == 1, "对公", "个人").astype(object),
        "account_type": a["account_type"].to_numpy(), "currency": "CNY", "open_date": a["open_date"].to_numpy(),
        "status": "正常",
    })
    cm = a["close_month"].to_numpy()
    changed = (cm >= 0) & (cm < len(months)) & (cm > np.maximum(a["open_month"].to_numpy(), 0))
    frozen = base[changed].copy()
    frozen["report_period"] = _dates(months, cm[changed])
    frozen["status"] = "冻结"
    return _sorted(pd.concat([base, frozen], ignore_index=True),
                   ["institution_code", "report_period", "account_no"])[ACCOUNT.column_names]


def _loan_frame(inst, persons, firms, loans, snaps, months) -> pd.DataFrame:
    li = snaps["li"].to_numpy()
    ht = loans["holder_type"].to_numpy()[li]
    hi = loans["holder_idx"].to_numpy()[li]
    is_f = ht == 1
    uscc = np.where(is_f, firms["uscc"].to_numpy()[np.where(is_f, hi, 0)], None)
    rid = np.where(~is_f, persons["resident_id"].to_numpy()[np.where(~is_f, hi, 0)], None)
    ind = np.where(is_f, firms["industry_code"].to_numpy()[np.where(is_f, hi, 0)], None)
    f = pd.DataFrame({
        "institution_code": inst["institution_code"].to_numpy()[loans["inst_idx"].to_numpy()[li]],
        "report_period": _dates(months, snaps["mi"].to_numpy()),
        "loan_id": loans["loan_id"].to_numpy()[li], "customer_id": loans["customer_id"].to_numpy()[li],
        "customer_type": np.where(is_f, "对公", "个人").astype(object), "borrower_uscc": uscc,
        "borrower_resident_id": rid, "industry_code": ind,
        "purpose": np.array(bk.PURPOSES, dtype=object)[loans["purpose"].to_numpy()[li]],
        "collateral_type": np.array(bk.COLLATERAL_TYPES, dtype=object)[loans["collateral"].to_numpy()[li]],
        "contract_amount": loans["contract"].to_numpy()[li], "balance": snaps["balance"].to_numpy(),
        "five_category": np.array(bk.FIVE_CATEGORIES, dtype=object)[snaps["category"].to_numpy()],
        "overdue_days": snaps["overdue_days"].to_numpy(), "interest_rate": loans["rate"].to_numpy()[li],
        "start_date": loans["start_date"].to_numpy()[li], "maturity_date": loans["maturity_date"].to_numpy()[li],
    })
    return _sorted(f, ["institution_code", "report_period", "loan_id"])[LOAN.column_names]


def _guarantee_frame(inst, persons, firms, loans, guarantees, snaps, months) -> pd.DataFrame:
    g = guarantees.reset_index(drop=True)
    g["guarantee_id"] = np.char.add("G", np.char.zfill((np.arange(len(g)) + 1).astype(str), 10)).astype(object)
    rows = snaps[["li", "mi"]].merge(g, on="li", how="inner")
    li = rows["li"].to_numpy()
    borrower = loans["holder_idx"].to_numpy()[li]
    by_firm = rows["g_firm"].to_numpy() >= 0
    gf = np.where(by_firm, rows["g_firm"].to_numpy(), 0)
    legal = firms["legal_rep_resident_id"].to_numpy()[borrower]
    pname = pd.Series(persons["name"].to_numpy(), index=persons["resident_id"].to_numpy())
    f = pd.DataFrame({
        "institution_code": inst["institution_code"].to_numpy()[loans["inst_idx"].to_numpy()[li]],
        "report_period": _dates(months, rows["mi"].to_numpy()),
        "guarantee_id": rows["guarantee_id"].to_numpy(), "loan_id": loans["loan_id"].to_numpy()[li],
        "borrower_uscc": firms["uscc"].to_numpy()[borrower],
        "guarantor_type": np.where(by_firm, "企业", "个人").astype(object),
        "guarantor_uscc": np.where(by_firm, firms["uscc"].to_numpy()[gf], None),
        "guarantor_resident_id": np.where(by_firm, None, legal),
        "guarantor_name": np.where(by_firm, firms["name"].to_numpy()[gf], pname.reindex(legal).to_numpy()),
        "guarantee_amount": rows["amount"].to_numpy(),
        "guarantee_type": np.array(bk.GUARANTEE_TYPES, dtype=object)[rows["gtype"].to_numpy()],
        "start_date": loans["start_date"].to_numpy()[li],
        "end_date": (loans["maturity_date"].to_numpy()[li].astype("datetime64[D]") + np.timedelta64(730, "D")),
    })
    return _sorted(f, ["institution_code", "report_period", "guarantee_id"])[GUARANTEE.column_names]


def _schedule(world: World) -> None:
    """Submission timestamps per (submitter, month); weak institutions drift late."""
    inst = world.universe.institutions
    codes = inst["institution_code"].tolist()
    zm = (world.health_ahead or world.health).monthly(world.months)
    mb = world.base_months or len(world.months)

    def ext(name: str) -> Extension:
        return Extension(world.seed, name, world.months, mb)

    rng = stream(world.seed, "lateness")
    lat = ext("lateness")
    n = len(codes)
    extra = np.where(zm < -1.5, np.clip(lat.panel(rng, n, lambda g, _s, c: g.normal(-6 * (zm[:, c] + 1.5), 4)),
                                        0, 40), 0).astype(int)
    extra = np.where(lat.random(rng, n) < 0.02, extra + lat.integers(rng, 3, 20, n), extra)
    when = submission_times(stream(world.seed, "schedule"), codes, world.months, extra_lag=extra,
                            ext=ext("schedule"))
    reg = submission_times(stream(world.seed, "schedule", REGULATOR_CODE), [REGULATOR_CODE], world.months,
                           lag_days=(72, 80), ext=ext(f"schedule:{REGULATOR_CODE}"))
    world.submitted_at = {**when, **reg}
    rows = []
    for (code, m), t in when.items():
        lag = (t.date() - m).days
        if lag > DEADLINE_DAYS:
            rows.append({"institution_code": code, "period": m.isoformat(), "days_after_period": lag,
                         "days_late": lag - DEADLINE_DAYS})
    world.lateness = pd.DataFrame(rows, columns=["institution_code", "period", "days_after_period", "days_late"])


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def _submitter_key(name: str, frame: pd.DataFrame) -> np.ndarray:
    if DATASETS[name].submitter == "regulator":
        return np.full(len(frame), REGULATOR_CODE, dtype=object)
    return frame["institution_code"].to_numpy()


def write_world(world: World, landing_dir: Path, ground_truth_dir: Path, *,
                month_hook: MonthHook | None = None, months: Iterable[int] | None = None) -> dict:
    """Write every submission of ``world`` into ``landing_dir`` and its answers into
    ``ground_truth_dir``; returns counts. ``month_hook(world, m, frames) -> frames`` may alter a month's
    frames before they are written. ``months`` (indices into ``world.months``) writes only those months
    (``simulate advance``); the ground truth is always written for the whole world. The returned
    ``written`` lists the submission folders written."""
    landing_dir, ground_truth_dir = Path(landing_dir), Path(ground_truth_dir)
    _gt.check_separate(landing_dir, ground_truth_dir)
    inst = world.universe.institutions
    delivery = {r.institution_code: (r.file_encoding, r.file_compression if isinstance(r.file_compression, str)
                                     else None) for r in inst.itertuples(index=False)}
    delivery[REGULATOR_CODE] = ("utf-8", None)
    order_codes = [*inst["institution_code"].tolist(), REGULATOR_CODE]
    n_sub = n_files = n_bytes = 0
    rows: dict[str, int] = dict.fromkeys(DATASETS, 0)
    peak_chunk = 0
    txn_seconds = 0.0
    only = None if months is None else set(months)
    written: list[Path] = []
    for m, month in enumerate(world.months):
        if only is not None and m not in only:
            continue
        t0 = time.perf_counter()
        txn = world.transactions(m)
        txn_seconds += time.perf_counter() - t0  # transactions only (not the loans streamed with them)
        peak_chunk = max(peak_chunk, len(txn))
        frames = world.month_frames(m, transactions=txn)
        del txn
        if month_hook is not None:
            frames = month_hook(world, m, frames)
        # per submitter: a dataset's text rows, or (frame, positions) of a big one, formatted when its
        # submission is written, so a month never holds all its big datasets as text at once
        per_sub: dict[str, dict[str, np.ndarray | tuple[pd.DataFrame, np.ndarray]]] = {}
        for name, frame in frames.items():
            rows[name] += len(frame)
            keys = _submitter_key(name, frame)
            if pd.isna(keys).any():
                raise ValueError(f"{name}: {int(pd.isna(keys).sum())} rows of month {month} have no institution")
            if len(frame) > BIG_MONTH_ROWS:  # format big months per submitter to bound memory
                idx = pd.Series(np.arange(len(frame))).groupby(keys, sort=False).indices
                for code, pos in idx.items():
                    per_sub.setdefault(code, {})[name] = (frame, pos)
            else:
                text = format_frame(frame, name).to_numpy(dtype=object)
                idx = pd.Series(np.arange(len(frame))).groupby(keys, sort=False).indices
                for code, pos in idx.items():
                    per_sub.setdefault(code, {})[name] = text[pos]
        for code in order_codes:
            if code not in per_sub:
                continue
            mine = per_sub.pop(code)
            files = {d: (format_frame(mine[d][0].iloc[mine[d][1]], d).to_numpy(dtype=object)
                         if isinstance(mine[d], tuple) else mine[d]) for d in DATASETS if d in mine}
            enc, comp = delivery[code]
            sub = write_submission(landing_dir, code, month, 1, world.submitted_at[(code, month)], files,
                                   encoding=enc, compression=comp)
            written.append(sub)
            n_sub += 1
            n_files += len(files)
            n_bytes += sum(f.stat().st_size for f in sub.iterdir())
            del mine, files
        del per_sub, frames
    payload = _ground_truth_payload(world)
    _gt.write_ground_truth(ground_truth_dir, payload, world.health.long(), tables=_ground_truth_tables(world))
    return {
        "submissions": n_sub,
        "files": n_files,
        "bytes": n_bytes,
        "rows": rows,
        "peak_transaction_chunk_rows": peak_chunk,
        "transaction_seconds": txn_seconds,
        "capital_breaches": len(payload["capital_breaches"]),
        "planted_capital_deterioration": len(payload["planted"]["capital_deterioration"]),
        "written": written,
    }


def _iso(d) -> str:
    return pd.Timestamp(d).date().isoformat()


def _month_iso(world: World, m: int) -> str | None:
    return world.months[m].isoformat() if 0 <= m < len(world.months) else None


def _ground_truth_payload(world: World) -> dict:
    inst = world.universe.institutions
    h = world.health
    det = dict(zip(h.codes, h.deteriorating.tolist(), strict=True))
    rec = dict(zip(h.codes, h.recovering.tolist(), strict=True))
    ratios = capital_ratios(world.frames["capital_report"])
    breach_cols = [f"breach_{k}" for k in MIN_RATIOS]
    breaches = ratios[ratios[breach_cols].any(axis=1)]
    ev = world.events
    bk_ = world.banking
    firms = world.firms

    def first_month(m: int) -> str:
        return (pd.Timestamp(world.months[0]) + pd.offsets.MonthEnd(int(m))).date().isoformat()

    schemes = []
    pat = world.patterns
    for s in world.schemes.itertuples(index=False):
        acc = pat.scheme_accounts.loc[pat.scheme_accounts["scheme_id"] == s.scheme_id, "acct"].to_numpy()
        ctrl = pat.controllers.loc[pat.controllers["scheme_id"] == s.scheme_id, "acct"].to_numpy()
        inv = pat.investors[pat.investors["scheme_id"] == s.scheme_id]
        end = s.collapse_month if s.collapse_month >= 0 else len(world.months)
        schemes.append({
            "scheme_id": s.scheme_id, "firm_uscc": s.firm_uscc, "firm_name": firms["name"].iat[s.firm_idx],
            "industry_code": firms["industry_code"].iat[s.firm_idx],
            "collection_accounts": bk_.accounts["account_no"].to_numpy()[acc].tolist(),
            "collection_institutions": bk_.accounts["institution_code"].to_numpy()[acc].tolist(),
            "controller_accounts": bk_.accounts["account_no"].to_numpy()[ctrl].tolist(),
            "start_month": first_month(s.start_month), "collapse_month": _month_iso(world, s.collapse_month),
            "months_active_in_window": [m.isoformat() for i, m in enumerate(world.months) if s.start_month <= i <= end],
            "n_investors": int(s.n_investors), "elderly_investor_share": round(float(inv["elderly"].mean()), 4)
            if len(inv) else 0.0,
            "unit_yuan": int(s.unit) // 100, "monthly_payout_rate": float(s.monthly_rate),
            "raised_yuan": int(s.raised) // 100, "inflow_purpose": s.inflow_purpose,
            "payout_purpose": s.payout_purpose,
        })
    hn = _hard_negatives(world)
    return {
        "generator": "simulator",
        "preset": world.preset.name,
        "seed": world.seed,
        "periods": [p.isoformat() for p in world.periods],
        "months": [m.isoformat() for m in world.months],
        "minimum_ratios": MIN_RATIOS,
        "institutions": [
            {
                "institution_code": r.institution_code,
                "name": r.name,
                "institution_type": r.institution_type,
                "bureau_code": r.bureau_code,
                "size_tier": int(r.size_tier),
                "reports_capital": r.institution_type != "insurer",
                "planted_capital_deterioration": bool(det[r.institution_code]),
                "planted_recovery": bool(rec[r.institution_code]),
            }
            for r in inst.itertuples(index=False)
        ],
        "planted": {
            "capital_deterioration": [c for c in h.codes if det[c]],
            "recovery": [c for c in h.codes if rec[c]],
            "designated_high_risk": sorted(ev.loc[ev["event"] == "designated_high_risk", "institution_code"]),
            "false_alarm_ratings": sorted(ev.loc[ev["event"] == "false_alarm_rating", "institution_code"]),
            "schemes": len(schemes),
            "guarantee_circles": len(bk_.circles),
            "guarantee_chains": len(bk_.chains),
            "hard_negatives": {k: int(v) for k, v in hn["kind"].value_counts().sort_index().items()},
            "npl_understated_loan_months": int(len(bk_.understated)),
            "late_submissions": int(len(world.lateness)),
        },
        "institution_events": [
            {"institution_code": r.institution_code, "event": r.event, "quarter": _iso(r.quarter), "detail": r.detail}
            for r in ev.itertuples(index=False)
        ],
        "schemes": schemes,
        "guarantee_circles": _groups_gt(world, bk_.circles),
        "guarantee_chains": _groups_gt(world, bk_.chains),
        "capital_breaches": [
            {
                "institution_code": r.institution_code,
                "report_period": pd.Timestamp(r.report_period).date().isoformat(),
                "cet1_ratio": round(float(r.cet1_ratio), 6),
                "tier1_ratio": round(float(r.tier1_ratio), 6),
                "car": round(float(r.car), 6),
                "breached": [k for k in MIN_RATIOS if getattr(r, f"breach_{k}")],
            }
            for r in breaches.itertuples(index=False)
        ],
    }


def _groups_gt(world: World, groups: list[dict]) -> list[dict]:
    firms, loans = world.firms, world.banking.loans
    codes = world.universe.institutions["institution_code"].to_numpy()
    out = []
    for g in groups:
        out.append({
            "members_uscc": firms["uscc"].to_numpy()[g["members"]].tolist(),
            "loan_ids": loans["loan_id"].to_numpy()[g["loan_rows"]].tolist(),
            "lenders": codes[loans["inst_idx"].to_numpy()[g["loan_rows"]]].tolist(),
            "contagion_default_month": _month_iso(world, g["default_month"]) if g.get("contagion") else None,
        })
    return out


def _hard_negatives(world: World) -> pd.DataFrame:
    """kind, account_no, institution_code, entity_id (USCC or resident ID)."""
    pat, acc = world.patterns, world.banking.accounts
    firms, persons = world.firms, world.persons
    parts = []

    def add(kind, acct_rows, entity):
        acct_rows = np.asarray(acct_rows, dtype=np.int64)
        parts.append(pd.DataFrame({"kind": kind, "account_no": acc["account_no"].to_numpy()[acct_rows],
                                   "institution_code": acc["institution_code"].to_numpy()[acct_rows],
                                   "entity_id": entity}))

    add("payroll", pat.payroll["acct"], firms["uscc"].to_numpy()[pat.payroll["firm_idx"].to_numpy()])
    add("merchant", pat.merchants["acct"], firms["uscc"].to_numpy()[pat.merchants["firm_idx"].to_numpy()])
    rp = world.txn_context.repay
    add("loan_repayment", rp["acct"], persons["resident_id"].to_numpy()[
        world.banking.loans["holder_idx"].to_numpy()[rp["loan_row"].to_numpy()]])
    add("pension", pat.pensioners["acct"], persons["resident_id"].to_numpy()[pat.pensioners["person_idx"].to_numpy()])
    return pd.concat(parts, ignore_index=True).drop_duplicates(["kind", "account_no"]).reset_index(drop=True)


def _ground_truth_tables(world: World) -> dict[str, pd.DataFrame]:
    pat, acc = world.patterns, world.banking.accounts
    inv = pat.investors
    persons = world.persons
    months = world.months

    def month_or_none(v):
        return [(pd.Timestamp(months[0]) + pd.offsets.MonthEnd(int(x))).date().isoformat() if x != -99 else ""
                for x in v]

    investors = pd.DataFrame({
        "scheme_id": inv["scheme_id"], "resident_id": persons["resident_id"].to_numpy()[inv["person_idx"].to_numpy()],
        "account_no": acc["account_no"].to_numpy()[inv["acct"].to_numpy()], "elderly": inv["elderly"],
        "join_month": month_or_none(inv["join_month"]), "principal_yuan": inv["principal"] // 100,
        "topup_month": month_or_none(inv["topup_month"]), "monthly_payout_yuan": inv["payout"] // 100,
    }) if len(inv) else pd.DataFrame()
    circles_loans = world.banking.loans[world.banking.loans["planted_group"].notna()][["loan_id", "planted_group"]]
    return {
        "hard_negatives.csv": _hard_negatives(world),
        "scheme_investors.csv": investors,
        "planted_guarantee_loans.csv": circles_loans,
        "institution_events.csv": world.events.assign(quarter=world.events["quarter"].map(_iso)),
        "late_submissions.csv": world.lateness,
        "npl_understated.csv": _understated(world),
        "developer_financials.csv": world.developers.assign(report_period=world.developers["report_period"].map(_iso)),
    }


def _understated(world: World) -> pd.DataFrame:
    u = world.banking.understated
    loans = world.banking.loans
    codes = world.universe.institutions["institution_code"].to_numpy()
    return pd.DataFrame({
        "institution_code": codes[loans["inst_idx"].to_numpy()[u["li"].to_numpy()]],
        "report_period": [world.months[m].isoformat() for m in u["mi"].to_numpy()],
        "loan_id": loans["loan_id"].to_numpy()[u["li"].to_numpy()],
        "reported_category": "关注", "true_category": "次级", "overdue_days": u["overdue_days"].to_numpy(),
    })


def generate(landing_dir: Path, ground_truth_dir: Path, preset: str | Preset = "tiny", seed: int = 7, *,
             defects: _defects.DefectConfig | str | float | dict | None = None,
             external: bool | None = None) -> dict:
    """Simulate ``preset`` with ``seed`` and write the landing zone and the ground truth.

    Returns a summary: preset, seed, periods (the month ends submitted), quarters, institutions (and
    by type), persons, firms, submissions, files, bytes, rows per dataset, planted counts,
    transactions generated per second and seconds taken. Raises ValueError if the ground-truth
    directory is (or is inside) the landing zone, and FileExistsError if a submission already exists
    with different content.

    ``defects`` (default: the preset's ``defects``, "none") plants delivery defects after writing
    (:mod:`.defects`; recorded in ``ground_truth/defects.csv``). ``external`` (default: the preset's
    ``external_feeds``) also writes the external feeds as JSONL files in ``<landing_dir>/../external/``
    and their hidden labels into the ground truth.
    """
    t0 = time.perf_counter()
    landing_dir, ground_truth_dir = Path(landing_dir), Path(ground_truth_dir)
    _gt.check_separate(landing_dir, ground_truth_dir)
    world = build_world(preset, seed)
    t_build = time.perf_counter() - t0
    written = write_world(world, landing_dir, ground_truth_dir)
    subs = written.pop("written")
    types = world.universe.institutions["institution_type"].value_counts()
    n_txn = written["rows"]["transaction"]
    txn_s = written.pop("transaction_seconds")
    if "transaction" in world.frames:  # generated during build: time it from the context instead
        txn_s = _time_transactions(world)
    t = time.perf_counter()
    found = _defects.inject(landing_dir, subs, _defects.resolve(defects if defects is not None
                                                                else world.preset.defects), seed)
    _defects.write_defects(ground_truth_dir, found)
    t_defects = time.perf_counter() - t
    t = time.perf_counter()
    ext = write_external(world, landing_dir, ground_truth_dir) if (
        world.preset.external_feeds if external is None else external) else None
    t_external = time.perf_counter() - t
    return {
        "preset": world.preset.name,
        "seed": seed,
        "periods": [m.isoformat() for m in world.months],
        "quarters": [p.isoformat() for p in world.periods],
        "institutions": len(world.universe.institutions),
        "institutions_by_type": {t: int(types.get(t, 0)) for t in sorted(types.index)},
        "bureaus": len(world.universe.bureaus),
        "persons": len(world.persons),
        "firms": len(world.firms),
        "schemes": len(world.schemes),
        **written,
        "defects": {k: int(v) for k, v in found["kind"].value_counts().sort_index().items()},
        "external_records": ext,
        "transactions_per_second": int(n_txn / txn_s) if txn_s > 0 else None,
        "build_seconds": round(t_build, 3),
        "defect_seconds": round(t_defects, 3),
        "external_seconds": round(t_external, 3),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def external_dir(landing_dir: Path) -> Path:
    """Where the external feeds are written as files: ``<landing_dir>/../external`` (beside the landing
    zone, like the ground truth)."""
    return Path(landing_dir).resolve().parent / "external"


def write_external(world: World, landing_dir: Path, ground_truth_dir: Path, *,
                   published_through: date | None = None) -> dict[str, int]:
    """Write the external feeds of ``world`` as published through ``published_through`` (default: its
    last month) to :func:`external_dir` and their hidden labels to ``ground_truth_dir``; returns records
    per feed."""
    from simulator.external import FeedServer, from_world

    out = external_dir(landing_dir)
    _gt.check_separate(Path(landing_dir), out)
    server = FeedServer(from_world(world), published_through=published_through)  # not started: files only
    entries = server.write_files(out)
    server.write_ground_truth(ground_truth_dir)
    return {feed: int(e["records"]) for feed, e in entries.items()}


def _time_transactions(world: World) -> float:
    """Seconds to regenerate one month of transactions, scaled to the whole run (cheap estimate)."""
    m = len(world.months) - 1
    t0 = time.perf_counter()
    month_transactions(world.txn_context, m)
    return (time.perf_counter() - t0) * len(world.months)


from simulator.advance import advance  # noqa: E402  (uses the names above)
