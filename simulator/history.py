"""Prudential history before the detail-table window (``Preset.prudential_history_quarters``).

A regulator holds many years of quarterly prudential reports (1104-style) and of its own ratings,
while the detail tables (customers, accounts, loans, transactions: EAST-style) are recent. This module
simulates the ``h`` quarters before the window's first quarter: each institution established by then
submits, once per quarter (the quarter-end month), its master record and its quarterly reports, and
the regulator (REG0000) submits its ratings, interventions and penalty cases. Nothing else: no detail
table exists for these quarters.

The latent health of the history is walked backwards from the window's first quarter (so it meets the
window without a jump), and carries episodes of its own, spread over the history rather than all
ending at the last quarter: per eight quarters, about ``deteriorating_share`` of the capital reporters
(the window's planted decliners excepted) go through a *distress episode* (health falls over 2-4
quarters to a trough below the capital minimum, then recovers over 2-3 quarters: recapitalised), and
about ``recovering_share`` through a *mild dip* (down to about the floor of healthy institutions, then
back); about one in 25 healthy institutions is rated 5 once for governance failings no indicator shows
(a false alarm). Ratings, interventions and cases follow the same rules as in the window
(:mod:`simulator.supervision`); no takeover happens in the history (a taken-over institution would not
be in the window). Every draw comes from streams ``(seed, "history", ...)``: the window is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd

from include.ingest.contract import CST
from include.registry.datasets import INTERVENTION, REGULATOR_CASE, REGULATOR_CODE, SUPERVISORY_RATING
from simulator.health import NON_CAPITAL_TYPES, HealthPanel
from simulator.periods import month_end, month_ends, quarter_ends
from simulator.prudential import institution_records
from simulator.reports import prudential_reports
from simulator.rng import stream
from simulator.supervision import MEASURES_BY_RATING, REASONS

#: the institutions' datasets of a history quarter (the regulator's are supervisory_rating,
#: intervention and regulator_case)
HISTORY_DATASETS = ("institution", "capital_report", "asset_quality", "concentration", "profitability",
                    "deposits_loans", "liquidity", "solvency")
_BOOK_SHARES = ("loans_special_mention", "real_estate_development_loans", "mortgage_loans", "personal_loans",
                "largest_customer_exposure", "top10_customer_exposure")


@dataclass
class History:
    """The history quarters (``quarters``), their health, the frames to submit (rows of
    ``months``: quarter ends, and for the regulator any month of the history), the ground-truth events
    and the submission times. ``spill`` holds regulator rows dated after the history (interventions and
    cases following its last ratings): they go into the window's regulator submissions."""

    quarters: list[date]
    months: list[date]
    health: HealthPanel
    frames: dict[str, pd.DataFrame]
    events: pd.DataFrame
    submitted_at: dict = field(default_factory=dict)
    spill: dict[str, pd.DataFrame] = field(default_factory=dict)

    def month_frames(self, month: date) -> dict[str, pd.DataFrame]:
        """Every history dataset's rows for ``month`` (empty ones left out)."""
        target = np.datetime64(month, "D")
        out = {}
        for name, f in self.frames.items():
            g = f[f["report_period"].to_numpy().astype("datetime64[D]") == target]
            if len(g):
                out[name] = g
        return out


def history_health(seed: int, inst: pd.DataFrame, base: HealthPanel, quarters: list[date], *,
                   deteriorating_share: float, recovering_share: float,
                   floor_z: float = -1.6) -> tuple[HealthPanel, pd.DataFrame]:
    """(the history's health panel, its planted episodes as ground-truth events)."""
    rng = stream(seed, "history", "health")
    n, h = len(inst), len(quarters)
    codes = inst["institution_code"].tolist()
    z0 = base.z[base.rows_of(codes), 0]
    shocks = rng.normal(0.0, 0.1, size=(n, h))
    back = np.cumsum(shocks[:, ::-1], axis=1)[:, ::-1]  # the walk, backwards from the window's first quarter
    z = np.maximum(z0[:, None] + back, floor_z)
    types = inst["institution_type"].to_numpy()
    cand = np.flatnonzero(~np.isin(types, list(NON_CAPITAL_TYPES | {"large_state_bank"}))
                          & ~base.deteriorating[base.rows_of(codes)])
    scale = h / 8
    k_sev = min(len(cand), int(round(deteriorating_share * len(cand) * scale)))
    k_dip = min(len(cand) - k_sev, int(round(recovering_share * n * scale)))
    chosen = rng.permutation(cand)[: k_sev + k_dip]
    steps = np.arange(h)
    events = []
    dipped = np.zeros(n, dtype=bool)
    for j, i in enumerate(chosen):
        severe = j < k_sev
        down, up = int(rng.integers(2, 5)), int(rng.integers(2, 4))
        trough = int(rng.integers(1, max(h - up, 2)))
        bottom = rng.uniform(-3.4, -2.4) if severe else rng.uniform(-2.1, -1.7)
        shape = np.where(steps <= trough, 1 - (trough - steps) / down, 1 - (steps - trough) / up)
        shape = np.clip(shape, 0.0, 1.0)
        z[i] = z[i] + (bottom - z[i, trough]) * shape
        dipped[i] = True
        onset = max(trough - down, 0)
        events.append({"institution_code": codes[i], "event": "history_distress" if severe else "history_dip",
                       "quarter": quarters[trough],
                       "detail": (f"health falls from {quarters[onset]} to a trough below the capital minimum in "
                                  f"{quarters[trough]}, then recovers" if severe else
                                  f"dips from {quarters[onset]} to about the floor in {quarters[trough]}, "
                                  "then recovers")})
    panel = HealthPanel(codes=codes, periods=list(quarters), z=z, deteriorating=np.zeros(n, dtype=bool),
                        recovering=dipped)
    return panel, pd.DataFrame(events, columns=["institution_code", "event", "quarter", "detail"])


def _history_book(seed: int, book: pd.DataFrame, health: HealthPanel, quarters: list[date]) -> pd.DataFrame:
    """The lenders' quarter-end loan books of the history (no loan detail exists then): the window's
    first book shrunk backwards by a per-lender growth rate, its non-performing share following the
    health (a weaker quarter, more NPL and special-mention loans). Amounts int64 fen."""
    rng = stream(seed, "history", "book")
    first = book["report_period"].min()
    b0 = book[book["report_period"] == first].set_index("institution_code")
    codes = b0.index.tolist()
    n, h = len(codes), len(quarters)
    if not n:
        return book.iloc[:0]
    total0 = b0["total_loans"].to_numpy(dtype=float)
    growth = rng.uniform(0.01, 0.03, size=n)
    total = total0[:, None] * np.exp(-growth[:, None] * (h - np.arange(h))[None, :]) \
        * np.exp(rng.normal(0, 0.01, size=(n, h)))
    z = health.z[health.rows_of(codes)]
    z0 = np.asarray(z[:, -1])
    npl0 = np.where(total0 > 0, b0["npl_balance"].to_numpy(dtype=float) / np.maximum(total0, 1), 0.0)
    # the window's first non-performing share, plus 1 point per unit of health below the window's start
    # (a healthy lender's share stays about where the window starts it; a distressed one's rises)
    npl_rate = np.clip(npl0[:, None] + 0.01 * np.maximum(z0[:, None] - z, 0.0)
                       * np.exp(rng.normal(0, 0.1, size=(n, h))), 0.0, 0.4)
    out = pd.DataFrame({"institution_code": np.repeat(codes, h),
                        "report_period": np.tile(np.array(quarters, dtype="datetime64[D]"), n)})
    fen = lambda a: np.rint(np.asarray(a, dtype=float)).astype(np.int64).ravel()  # noqa: E731
    out["total_loans"] = fen(total)
    tl = out["total_loans"].to_numpy().reshape(n, h)
    npl = np.minimum(fen(tl * npl_rate).reshape(n, h), tl)
    parts = b0[["loans_substandard", "loans_doubtful", "loans_loss"]].to_numpy(dtype=float)
    mix = np.where(parts.sum(axis=1, keepdims=True) > 0, parts / np.maximum(parts.sum(axis=1, keepdims=True), 1),
                   np.array([0.5, 0.3, 0.2]))
    sub = fen(npl * mix[:, :1]).reshape(n, h)
    dbt = np.minimum(fen(npl * mix[:, 1:2]).reshape(n, h), npl - sub)
    out["loans_substandard"], out["loans_doubtful"] = sub.ravel(), dbt.ravel()
    out["loans_loss"] = (npl - sub - dbt).ravel()
    out["npl_balance"] = npl.ravel()
    share = {c: b0[c].to_numpy(dtype=float) / np.maximum(total0, 1) for c in _BOOK_SHARES}
    sm = np.minimum(fen(tl * np.clip(share["loans_special_mention"][:, None]
                                     + 0.015 * np.maximum(z0[:, None] - z, 0.0), 0, 0.3)).reshape(n, h), tl - npl)
    out["loans_special_mention"] = sm.ravel()
    out["loans_normal"] = (tl - npl - sm).ravel()
    overdue = np.minimum(fen(npl * rng.uniform(1.0, 1.3, size=(n, 1))).reshape(n, h), tl)
    out["overdue_loans"] = overdue.ravel()
    out["overdue_90_loans"] = np.minimum(fen(npl * 0.7).reshape(n, h), overdue).ravel()
    for c in ("real_estate_development_loans", "mortgage_loans", "personal_loans"):
        out[c] = fen(tl * share[c][:, None])
    out["corporate_loans"] = out["total_loans"] - out["personal_loans"]
    top10 = np.minimum(fen(tl * share["top10_customer_exposure"][:, None]).reshape(n, h), tl)
    out["top10_customer_exposure"] = top10.ravel()
    out["largest_customer_exposure"] = np.minimum(fen(tl * share["largest_customer_exposure"][:, None]).reshape(n, h),
                                                  top10).ravel()
    return out


def _supervise_history(seed: int, inst: pd.DataFrame, health: HealthPanel, quarters: list[date],
                       months: list[date], present: np.ndarray, dipped_or_distressed: np.ndarray):
    """Ratings (same rule as the window), planted false alarms, interventions, routine warnings and
    penalty cases of the history. Returns (frames, false-alarm events)."""
    rng = stream(seed, "history", "supervision")
    codes, names = inst["institution_code"].tolist(), inst["name"].tolist()
    z = health.z
    n, h = z.shape
    lag1 = np.concatenate([z[:, :1], z[:, :-1]], axis=1)
    lag2 = np.concatenate([lag1[:, :1], lag1[:, :-1]], axis=1)
    view = 0.6 * lag1 + 0.4 * lag2
    rating = np.clip(np.rint(2.4 - 0.85 * view + rng.normal(0, 0.55, size=(n, h))), 1, 6).astype(int)
    healthy = np.flatnonzero(~dipped_or_distressed & present.all(axis=1))
    k = min(len(healthy), max(1, int(round(n / 25 * h / 8))))
    events = []
    for i in rng.choice(healthy, size=k, replace=False) if k else []:
        q = int(rng.integers(1, h))
        rating[i, q] = 5
        events.append({"institution_code": codes[i], "event": "false_alarm_rating", "quarter": quarters[q],
                       "detail": "rated 5 for governance failings no indicator shows"})
    qd = np.array(quarters, dtype="datetime64[D]")
    rated_at = qd[None, :] + rng.integers(40, 71, size=(n, h)).astype("timedelta64[D]")
    ii, qq = np.nonzero(present)
    rat = pd.DataFrame({"institution_code": np.array(codes, dtype=object)[ii], "report_period": qd[qq],
                        "rating": rating[ii, qq].astype(str).astype(object), "rated_at": rated_at[ii, qq]})
    iv = []
    for i, q in zip(ii, qq, strict=True):
        r = rating[i, q]
        if r >= 4 and rng.random() < {4: 0.5, 5: 0.9, 6: 1.0}[r]:
            when = rated_at[i, q] + np.timedelta64(int(rng.integers(5, 40)), "D")
            reason = REASONS[rng.choice(["capital", "npl", "liquidity"])] if view[i, q] < -1.0 else \
                REASONS[rng.choice(["governance", "data", "related"])]
            iv.append((codes[i], when, rng.choice(MEASURES_BY_RATING[r]), reason))
    me = np.array(months, dtype="datetime64[D]")
    first_q = np.argmax(present, axis=1)
    routine = rng.random((n, len(months))) < 0.01
    for i, m in zip(*np.nonzero(routine), strict=True):
        if present[i].any() and m >= 3 * first_q[i]:
            d = me[m] - np.timedelta64(int(rng.integers(0, 27)), "D")
            iv.append((codes[i], d, "风险提示", REASONS[rng.choice(["data", "related", "governance"])]))
    ivf = pd.DataFrame(iv, columns=["institution_code", "measure_date", "measure_type", "reason"])
    ivf["measure_date"] = ivf["measure_date"].astype("datetime64[s]")
    ivf = ivf.sort_values(["measure_date", "institution_code"], kind="stable").reset_index(drop=True)
    ivf["report_period"] = [np.datetime64(_month_end_of(d), "D") for d in ivf["measure_date"]]
    ivf["intervention_id"] = [f"IVH{i + 1:06d}" for i in range(len(ivf))]
    hit = (rng.random((n, h)) < 0.03 * np.exp(-0.7 * lag1)) & present
    cases = []
    for i, q in zip(*np.nonzero(hit), strict=True):
        m = 3 * q + int(rng.integers(1, 6))
        d = (me[m] if m < len(me) else np.datetime64(_month_end_of(pd.Timestamp(qd[q]) + pd.DateOffset(
            months=m - 3 * q - 1)), "D")) - np.timedelta64(int(rng.integers(0, 25)), "D")
        cases.append(("机构", codes[i], None, names[i], rng.choice(["行政处罚", "违规经营"]), d,
                      rng.choice(["现场检查", "非现场监管"]), int(rng.integers(20, 500)) * 1_000_000))
    cf = pd.DataFrame(cases, columns=["entity_type", "institution_code", "uscc", "entity_name", "case_type",
                                      "opened_date", "source", "amount"])
    cf["opened_date"] = cf["opened_date"].astype("datetime64[s]")
    cf["uscc"] = cf["uscc"].astype(object)
    cf = cf.sort_values(["opened_date", "entity_name"], kind="stable").reset_index(drop=True)
    cf["report_period"] = [np.datetime64(_month_end_of(d), "D") for d in cf["opened_date"]]
    cf["case_id"] = [f"CASEH{i + 1:06d}" for i in range(len(cf))]
    cf["amount"] = cf["amount"].astype("Int64")
    frames = {"supervisory_rating": rat[SUPERVISORY_RATING.column_names],
              "intervention": ivf[INTERVENTION.column_names], "regulator_case": cf[REGULATOR_CASE.column_names]}
    return frames, pd.DataFrame(events, columns=["institution_code", "event", "quarter", "detail"])


def _month_end_of(d) -> date:
    t = pd.Timestamp(d)
    return month_end(t.year, t.month)


def simulate_history(seed: int, p, inst: pd.DataFrame, base: HealthPanel, first_quarter: date,
                     book: pd.DataFrame) -> History | None:
    """The history of ``p.prudential_history_quarters`` quarters before ``first_quarter`` (None if 0).
    ``book``: the window's quarter-end loan books (:func:`simulator.reports.loan_book`)."""
    h = int(p.prudential_history_quarters)
    if h <= 0:
        return None
    last = (pd.Timestamp(first_quarter) - pd.offsets.QuarterEnd(1)).date()
    quarters = quarter_ends(last, h)
    months = month_ends(last, 3 * h)
    health, events = history_health(seed, inst, base, quarters, deteriorating_share=p.deteriorating_share,
                                    recovering_share=p.recovering_share)
    est = pd.to_datetime(inst["established_date"]).to_numpy().astype("datetime64[D]")
    present = est[:, None] <= np.array(quarters, dtype="datetime64[D]")[None, :]
    rseed = int(stream(seed, "history", "reports").integers(2**31))
    reports = prudential_reports(rseed, inst, health, quarters, book=_history_book(seed, book, health, quarters))
    frames: dict[str, pd.DataFrame] = {"institution": institution_records(inst, quarters), **reports}
    pos = {c: i for i, c in enumerate(inst["institution_code"])}
    qpos = {q: j for j, q in enumerate(np.array(quarters, dtype="datetime64[D]"))}
    for name, f in frames.items():  # only what an established institution could report
        i = f["institution_code"].map(pos).to_numpy()
        j = np.array([qpos[x] for x in f["report_period"].to_numpy().astype("datetime64[D]")], dtype=int)
        frames[name] = f[present[i, j]].reset_index(drop=True)
    reg, alarms = _supervise_history(seed, inst, health, quarters, months, present, health.recovering)
    last_m = np.datetime64(months[-1], "D")
    spill = {}
    for name, f in reg.items():
        after = f["report_period"].to_numpy().astype("datetime64[D]") > last_m
        frames[name], spill[name] = f[~after].reset_index(drop=True), f[after].reset_index(drop=True)
    hist = History(quarters=quarters, months=months, health=health, frames=frames,
                   events=pd.concat([events, alarms], ignore_index=True), spill=spill)
    hist.submitted_at = _submission_times(seed, inst, hist)
    return hist


def _submission_times(seed: int, inst: pd.DataFrame, hist: History) -> dict[tuple[str, date], datetime]:
    """(submitter, month) -> submitted_at for every submission of the history (8-28 days after a
    quarter end for institutions, 72-80 days after the month for the regulator, as in the window)."""
    rng = stream(seed, "history", "schedule")
    out = {}
    for month in hist.months:
        fr = hist.month_frames(month)
        subs = sorted({c for k in HISTORY_DATASETS if k in fr for c in fr[k]["institution_code"]})
        lo, hi = (8, 28)
        for code in subs:
            out[(code, month)] = _at(month, int(rng.integers(lo, hi + 1)), int(rng.integers(9 * 3600, 18 * 3600)))
        if any(k in fr for k in ("supervisory_rating", "intervention", "regulator_case")):
            out[(REGULATOR_CODE, month)] = _at(month, int(rng.integers(72, 81)), int(rng.integers(9 * 3600, 18 * 3600)))
    return out


def _at(month: date, lag: int, secs: int) -> datetime:
    return datetime.combine(month + timedelta(days=lag), time(), tzinfo=CST) + timedelta(seconds=secs)
