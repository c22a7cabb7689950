""":func:`build_world`: simulate a run in memory (no I/O), step by step.

The steps, each drawing from its own named streams (:mod:`.rng`), so a step's draws never depend on how
much another step drew: the calendar (months, quarters); the institutions and their latent health;
persons, firms and developers; banking (accounts, loans, guarantees, customers; the planted schemes'
accounts and guarantee groups); the planted patterns; the datasets as frames (customers, accounts,
loans, the quarterly reports, the regulator's records); the submission schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from include.registry.datasets import DATASETS, REGULATOR_CODE
from simulator import banking as bk
from simulator.disguise import plan_disguise
from simulator.entities import ages_at, build_firms, build_persons, build_shareholders, developer_financials
from simulator.frames import account_frame, customer_frames
from simulator.guarantees import build_guarantees
from simulator.health import HealthPanel, simulate_health
from simulator.history import simulate_history
from simulator.loan_months import understate_draws
from simulator.patterns import Patterns, plan_patterns, scheme_extra_accounts
from simulator.periods import month_end, month_ends, quarter_ends
from simulator.presets import Preset, get_preset
from simulator.prudential import institution_records
from simulator.reports import loan_book, prudential_reports
from simulator.rng import Extension, stream
from simulator.schedule import DEADLINE_DAYS, submission_times
from simulator.supervision import supervise
from simulator.transactions import build_context, month_transactions
from simulator.universe import Universe, build_universe
from simulator.world import LoanDetail, World


@dataclass(frozen=True)
class Calendar:
    """The run's periods: ``months`` (month ends: the base window, then the extra months),
    ``quarters`` (quarter ends through the last month's completed quarter), ``h_quarters`` (the quarters
    of latent health: also the quarter of the last month when it is not yet reported)."""

    months: list[date]
    quarters: list[date]
    h_quarters: list[date]
    mb: int  # months of the base window
    qb: int  # quarters of the base window

    @property
    def base_months(self) -> list[date]:
        return self.months[: self.mb]

    @property
    def extended(self) -> bool:
        return len(self.months) > self.mb


def calendar_of(p: Preset) -> Calendar:
    mb = p.n_months
    months = month_ends(p.window_end, mb + p.extra_months)
    q_after = sum(1 for m in months if m > p.last_period and m.month % 3 == 0)
    last_q = max(m for m in months if m.month % 3 == 0)
    quarters = quarter_ends(last_q, p.n_quarters + q_after)
    # latent health runs through the quarter of the last month (a month after the base window takes its
    # own quarter's health, known before the quarter is reported)
    h_quarters = list(quarters)
    if len(months) > mb and months[-1] > quarters[-1]:
        h_quarters.append(month_end(months[-1].year, (months[-1].month - 1) // 3 * 3 + 3))
    return Calendar(months=months, quarters=quarters, h_quarters=h_quarters, mb=mb, qb=p.n_quarters)


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
    cal = calendar_of(p)
    months, quarters, mb, qb = cal.months, cal.quarters, cal.mb, cal.qb
    universe, health_ahead = _institutions(p, seed, cal)
    inst = universe.institutions
    health = health_ahead.head(len(quarters))
    persons, firms, shareholders = _population(p, seed, cal)
    developers_of = _Developers(seed, firms, cal)

    # banking: schemes need accounts of their own, planted guarantee groups need their own loans
    prng = stream(seed, "patterns")
    schemes, extra, planned_collapse = scheme_extra_accounts(prng, firms, inst, cal.base_months, p.n_schemes)
    banking, detail = _banking(p, seed, cal, inst, persons, firms, health_ahead, developers_of, schemes, extra)
    developers = developers_of.frame
    accounts, loans = banking.accounts, banking.loans
    if p.stream_loans:  # a month at a time: only the under-classified loans, the quarter-end books, overdue firms
        banking.understated, book, overdue_firms = detail.summaries(quarters)
    else:
        snaps = detail.snapshots()
        banking.understated = snaps[snaps["understated"].to_numpy()]
        overdue_firms = None
    patterns = plan_patterns(prng, inst=inst, persons=persons, firms=firms, accounts=accounts, loans=loans,
                             months=cal.base_months, schemes=schemes, n_payroll=p.n_payroll,
                             n_merchants=p.n_merchants, pension_share=p.pension_share)
    if p.disguise_share > 0:  # own stream: the undisguised world's draws are untouched
        taken = np.unique(np.r_[patterns.scheme_accounts["acct"].to_numpy(), patterns.controllers["acct"].to_numpy(),
                                patterns.investors["acct"].to_numpy() if len(patterns.investors) else []]).astype(int)
        plan_disguise(seed, schemes, accounts, taken, p.disguise_share, p.disguise_tricks)
    if cal.extended:  # a scheme planned to collapse just after the base window collapses when its month comes
        late = (schemes["collapse_month"].to_numpy() < 0) & (planned_collapse < len(months))
        schemes.loc[late, "collapse_month"] = planned_collapse[late]
        sch = accounts["scheme"].to_numpy()
        for i in np.flatnonzero(late):
            accounts.loc[sch == i, "close_month"] = int(planned_collapse[i])

    frames: dict[str, pd.DataFrame] = {"institution": institution_records(inst, months)}
    frames.update(customer_frames(inst, persons, firms, banking.customers, months))
    frames["account"] = account_frame(accounts, months)
    if not p.stream_loans:
        frames["loan"], frames["guarantee"] = detail.frames(snaps)
        del snaps
        book = loan_book(frames["loan"], quarters)

    _finish_schemes(schemes, patterns, firms)
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
    history = simulate_history(seed, p, inst, health, quarters[0], book)
    if history is not None:  # regulator records dated after the history go with the window's own
        for name, f in history.spill.items():
            if len(f):
                frames[name] = pd.concat([frames[name], f], ignore_index=True)

    world = World(preset=p, seed=seed, periods=quarters, universe=universe, health=health, frames=frames,
                  months=months, persons=persons, firms=firms, shareholders=shareholders, developers=developers,
                  banking=banking, patterns=patterns, schemes=schemes, events=events, txn_context=ctx,
                  health_ahead=health_ahead, base_months=mb, loan_detail=detail if p.stream_loans else None,
                  overdue_firms=overdue_firms, history=history)
    if not p.stream_transactions:
        frames["transaction"] = pd.concat([month_transactions(ctx, m) for m in range(len(months))],
                                          ignore_index=True)
    _schedule(world)
    world.frames = {k: frames[k] for k in DATASETS if k in frames}
    unknown = set(frames) - set(DATASETS)
    assert not unknown, f"frames for unregistered datasets: {unknown}"
    return world


def _institutions(p: Preset, seed: int, cal: Calendar) -> tuple[Universe, HealthPanel]:
    """The institutions, and their latent health through the quarter of the last month."""
    universe = build_universe(stream(seed, "universe"), p.n_institutions, established_before=cal.quarters[0],
                              gb18030_share=p.gb18030_share, gzip_share=p.gzip_share)
    health_ahead = simulate_health(stream(seed, "health"), universe.institutions, cal.h_quarters,
                                   deteriorating_share=p.deteriorating_share, recovering_share=p.recovering_share,
                                   ext=Extension(seed, "health", cal.h_quarters, cal.qb))
    if cal.extended:
        health_ahead.base_end, health_ahead.t_base = cal.base_months[-1], cal.qb
    return universe, health_ahead


def _population(p: Preset, seed: int, cal: Calendar):
    """(persons, firms, shareholders)."""
    persons = build_persons(stream(seed, "persons"), p.n_persons, p.last_period, elderly_share=p.elderly_share)
    firms = build_firms(stream(seed, "firms"), p.n_firms, persons, p.last_period, developer_share=p.developer_share)
    shareholders = build_shareholders(stream(seed, "shareholders"), firms, persons)
    return persons, firms, shareholders


class _Developers:
    """The developers' quarterly balance sheets (``frame``) and which firms are stressed developers (two
    or more red lines breached in the base window), drawn when the loans' dates are known (called by
    :func:`~simulator.banking.build_loans` before its default draws, which stressed developers raise):
    the red and orange colour profiles go to developers that owe a bank at the quarter ends (first at
    the last one), so the banks' exposure to red-line developers is there to see. Draws come from the
    stream ``(seed, "developers")`` only: the loans' draws are those they always were."""

    def __init__(self, seed: int, firms: pd.DataFrame, cal: Calendar) -> None:
        self.seed, self.firms, self.cal = seed, firms, cal
        self.frame: pd.DataFrame | None = None
        self.stressed = np.zeros(len(firms), dtype=bool)

    def __call__(self, holder_type: np.ndarray, holder_idx: np.ndarray, start_date: np.ndarray,
                 maturity: np.ndarray) -> np.ndarray:
        cal, firms = self.cal, self.firms
        dev_loan = np.flatnonzero((holder_type == 1) & firms["is_developer"].to_numpy()[
            np.where(holder_type == 1, holder_idx, 0)])
        qe = np.array(cal.quarters[: cal.qb], dtype="datetime64[D]")
        live = (start_date[dev_loan, None] <= qe[None, :]) & (maturity[dev_loan, None] > qe[None, :])
        owes = np.zeros(len(firms))  # 2: owes at the last base quarter end, 1: at an earlier one
        np.maximum.at(owes, holder_idx[dev_loan], np.where(live[:, -1], 2.0, np.where(live.any(axis=1), 1.0, 0.0)))
        dev_rows = np.flatnonzero(firms["is_developer"].to_numpy())
        self.frame = developer_financials(stream(self.seed, "developers"), firms, cal.quarters,
                                          ext=Extension(self.seed, "developers", cal.quarters, cal.qb),
                                          prefer=owes[dev_rows])
        if len(self.frame):  # planned over the base window
            base_q = self.frame["report_period"].to_numpy().astype("datetime64[D]") <= qe[-1]
            worst = self.frame[base_q].groupby("uscc")["red_lines_breached"].max()
            self.stressed = firms["uscc"].map(worst).fillna(0).to_numpy() >= 2
        return self.stressed


def _banking(p: Preset, seed: int, cal: Calendar, inst: pd.DataFrame, persons: pd.DataFrame, firms: pd.DataFrame,
             health_ahead: HealthPanel, developers: _Developers, schemes: pd.DataFrame,
             extra: pd.DataFrame) -> tuple[bk.Banking, LoanDetail]:
    """Accounts (with the schemes' ``extra`` ones), loans (with the planted guarantee groups' and, past
    the base window, renewals), guarantees and customers. ``Banking.understated`` is left empty: it
    comes from the month snapshots (:class:`~simulator.world.LoanDetail`) and is set by the caller."""
    base_months, months = cal.base_months, cal.months
    accounts = bk.build_accounts(stream(seed, "accounts"), inst, persons, firms, base_months,
                                 extra.drop(columns="scheme"))
    accounts["scheme"] = np.concatenate([np.full(len(accounts) - len(extra), np.nan), extra["scheme"].to_numpy()])
    grng = stream(seed, "guarantees")
    circles, chains, forced = _planted_groups(grng, firms, schemes, p)
    lrng = stream(seed, "loans")
    loans = bk.build_loans(lrng, inst, persons, firms, base_months, health_ahead,
                           firm_borrower_share=p.firm_borrower_share, mortgage_share=p.mortgage_share,
                           consumer_loan_share=p.consumer_loan_share, stressed_developers=developers,
                           forced_firms=forced)
    loans["planted_group"] = None
    loans, circle_groups = bk.add_planted_loans(lrng, loans, inst, firms, base_months, health_ahead, circles,
                                                "circle", developers.stressed)
    loans, chain_groups = bk.add_planted_loans(lrng, loans, inst, firms, base_months, health_ahead, chains,
                                               "chain", developers.stressed)
    guarantees = build_guarantees(grng, loans, firms, share=p.guarantee_share, circles=circle_groups,
                                     chains=chain_groups)
    n_base_loans = len(loans)
    if cal.extended:  # defaults and renewals after the base window (renewals get the next ids)
        loans, guarantees = bk.continue_loans(loans, guarantees, months, cal.mb, health_ahead, seed)
    loans["loan_id"] = np.char.add("L", np.char.zfill((np.arange(len(loans)) + 1).astype(str), 10)).astype(object)
    customers = bk.assign_customers(inst, accounts, loans, months)
    detail = LoanDetail(inst=inst, persons=persons, firms=firms, loans=loans, guarantees=guarantees, months=months,
                        health=health_ahead, hide=understate_draws(loans, stream(seed, "understate"), n_base_loans))
    banking = bk.Banking(accounts=accounts, customers=customers, loans=loans, guarantees=guarantees,
                         circles=circle_groups, chains=chain_groups)
    return banking, detail


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


def _finish_schemes(schemes: pd.DataFrame, patterns: Patterns, firms: pd.DataFrame) -> None:
    """Add to ``schemes`` what its investors raised (fen) and its firm's USCC."""
    inv = patterns.investors
    raised = (inv.groupby("scheme")["principal"].sum() + inv[inv["topup_month"] >= 0].groupby("scheme")["topup"]
              .sum().reindex(range(len(schemes)), fill_value=0)) if len(inv) else pd.Series(dtype=float)
    schemes["raised"] = raised.reindex(range(len(schemes)), fill_value=0).astype(np.int64).to_numpy()
    schemes["firm_uscc"] = firms["uscc"].to_numpy()[schemes["firm_idx"].to_numpy()]


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

