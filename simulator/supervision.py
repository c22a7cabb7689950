"""The regulator's own records: supervisory ratings, interventions and cases (submitted as REG0000).

These are what the models of later issues learn from (labels), so they are *reactions* to the
institutions' state, not the state itself: a rating for quarter q is decided 40-70 days after it ends
from a noisy, lagged view of health (``0.6 z[q-1] + 0.4 z[q-2]`` plus noise), interventions follow
ratings by weeks, penalty cases follow weakness with a lag, and illegal-fundraising cases are opened
only after a scheme collapses. So the submitted indicators lead these events by one to four quarters,
some deteriorating institutions are never rated badly, and a few healthy ones are (planted "false
alarms", e.g. for governance failings that no indicator shows).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from include.registry.datasets import INTERVENTION, REGULATOR_CASE, SUPERVISORY_RATING
from simulator.health import HealthPanel
from simulator.rng import Extension, stream

REASONS = {
    "capital": "资本充足率持续下降，资本补充不足",
    "npl": "不良贷款率上升，资产质量明显恶化",
    "liquidity": "流动性指标承压，存款流失",
    "governance": "公司治理存在缺陷，股东行为不规范",
    "data": "监管数据报送不及时、不准确",
    "related": "关联交易管理不审慎",
}
MEASURES_BY_RATING = {4: ("监管谈话", "风险提示"), 5: ("责令整改", "限制业务"), 6: ("限制业务", "责令整改")}


def _month_end(d: date) -> date:
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def supervise(seed: int, inst: pd.DataFrame, health: HealthPanel, quarters: list[date], months: list[date],
              firms: pd.DataFrame, schemes: pd.DataFrame, defaulted_firms: pd.DataFrame, *,
              t_base: int | None = None, m_base: int | None = None) -> tuple[dict, pd.DataFrame]:
    """(frames for supervisory_rating / intervention / regulator_case, institution events for the
    ground truth). ``defaulted_firms``: firm_idx, default_month, amount (fen) of defaulted corporate loans.

    ``t_base`` quarters and ``m_base`` months (default: all) are the base window, where false alarms and
    takeovers are planned; later quarters and months (``simulate advance``) draw from their own streams
    (per quarter, per month, per scheme or firm for cases), so the base records do not change: ratings
    go on from the continued health, a taken-over institution stays rated ``S``."""
    rng = stream(seed, "supervision")
    codes = inst["institution_code"].tolist()
    n, t = health.z.shape
    tb = t if t_base is None else t_base
    mb = len(months) if m_base is None else m_base
    qext = Extension(seed, "supervision:quarter", quarters, tb)
    mext = Extension(seed, "supervision:month", months, mb)
    z = health.z
    lag1 = np.concatenate([z[:, :1], z[:, :-1]], axis=1)
    lag2 = np.concatenate([lag1[:, :1], lag1[:, :-1]], axis=1)
    view = 0.6 * lag1 + 0.4 * lag2
    score = 2.4 - 0.85 * view + qext.normal(rng, 0, 0.55, n)
    rating = np.clip(np.rint(score), 1, 6).astype(int)
    events = []
    # planted false alarms: healthy institutions rated 5 once
    healthy = np.flatnonzero(~health.deteriorating & ~health.recovering)
    k = min(len(healthy), max(1, n // 25))
    for i in rng.choice(healthy, size=k, replace=False):
        q = int(rng.integers(1, tb))
        rating[i, q] = 5
        events.append({"institution_code": codes[i], "event": "false_alarm_rating", "quarter": quarters[q],
                       "detail": "rated 5 for governance failings no indicator shows"})
    # takeovers: the weakest planted institutions at the end of the base window (rated S from then on)
    det = np.flatnonzero(health.deteriorating)
    weakest = det[np.argsort(z[det, tb - 1])][: max(1, n // 80)] if len(det) else det
    status = np.full((n, t), "", dtype=object)
    for i in weakest:
        status[i, tb - 1:] = "S"
        events.append({"institution_code": codes[i], "event": "takeover", "quarter": quarters[tb - 1],
                       "detail": "rated S and taken over (接管)"})
    rating_txt = np.where(status == "S", "S", rating.astype(str)).astype(object)
    qd = np.array(quarters, dtype="datetime64[D]")
    rated_at = qd[None, :] + qext.integers(rng, 40, 71, n).astype("timedelta64[D]")
    rat = pd.DataFrame({
        "institution_code": np.repeat(codes, t), "report_period": np.tile(qd, n),
        "rating": rating_txt.ravel(), "rated_at": rated_at.ravel(),
    })[SUPERVISORY_RATING.column_names]
    for i in range(n):
        if rating[i, -1] >= 5 or status[i, -1] == "S":
            events.append({"institution_code": codes[i], "event": "designated_high_risk", "quarter": quarters[-1],
                           "detail": f"final rating {rating_txt[i, -1]}"})
        if health.deteriorating[i]:
            events.append({"institution_code": codes[i], "event": "deterioration_onset",
                           "quarter": quarters[int(max(health.onset[i], 0))], "detail": "latent health starts falling"})
        if health.recovering[i]:
            events.append({"institution_code": codes[i], "event": "recovery_dip",
                           "quarter": quarters[int(max(health.onset[i], 0))], "detail": "weakens, then recovers"})

    # interventions after ratings (and a few routine risk warnings)
    last = np.datetime64(months[-1], "D")
    iv = []
    for i in range(n):
        for q in range(t):
            g = rng if q < tb else qext.gens[q - tb]
            r = rating[i, q]
            when = rated_at[i, q] + np.timedelta64(int(g.integers(5, 40)), "D")
            if status[i, q] == "S":
                if q == tb - 1:  # the takeover itself
                    iv.append((codes[i], when, "接管", REASONS["capital"]))
            elif r >= 4 and g.random() < {4: 0.5, 5: 0.9, 6: 1.0}[r]:
                reason = REASONS[g.choice(["capital", "npl", "liquidity"])] if view[i, q] < -1.0 else \
                    REASONS[g.choice(["governance", "data", "related"])]
                iv.append((codes[i], when, g.choice(MEASURES_BY_RATING[r]), reason))
    def routine_warning(g: np.random.Generator, i: int, m: int) -> None:
        d = np.datetime64(months[m], "D") - np.timedelta64(int(g.integers(0, 27)), "D")
        iv.append((codes[i], d, "风险提示", REASONS[g.choice(["data", "related", "governance"])]))

    routine = mext.random(rng, n) < 0.01
    for i, m in zip(*np.nonzero(routine[:, :mb]), strict=True):  # base months: base stream, original order
        routine_warning(rng, i, m)
    for m in range(mb, len(months)):
        for i in np.flatnonzero(routine[:, m]):
            routine_warning(mext.gens[m - mb], i, m)
    ivf = pd.DataFrame(iv, columns=["institution_code", "measure_date", "measure_type", "reason"])
    ivf["measure_date"] = ivf["measure_date"].astype("datetime64[s]") if len(ivf) else \
        ivf["measure_date"]
    ivf = ivf[ivf["measure_date"].to_numpy().astype("datetime64[D]") <= last] if len(ivf) else ivf
    ivf = ivf.sort_values(["measure_date", "institution_code"], kind="stable").reset_index(drop=True)
    ivf["report_period"] = [np.datetime64(_month_end(pd.Timestamp(d).date()), "D") for d in ivf["measure_date"]]
    ivf["intervention_id"] = [f"IV{i + 1:06d}" for i in range(len(ivf))]
    ivf = ivf[INTERVENTION.column_names]

    # cases
    # cases: base-window draws from the base stream; a case after the base window draws from a stream of
    # its own (its scheme, firm or quarter), so it is the same whichever later month the world ends in
    cases = []
    me = np.array(months, dtype="datetime64[D]")

    def own(*key: str) -> np.random.Generator:
        return stream(seed, "supervision", "ext", *key)

    def scheme_case(g: np.random.Generator, s, m: int) -> None:
        d = me[m] - np.timedelta64(int(g.integers(0, 25)), "D")
        cases.append(("企业", None, firms["uscc"].iat[s.firm_idx], firms["name"].iat[s.firm_idx], "非法集资", d,
                      g.choice(["群众举报", "公安移送"]), int(s.raised)))

    for s in schemes.itertuples(index=False):
        if 0 <= s.collapse_month < mb:
            m = int(s.collapse_month + rng.integers(0, 3))
            if m < mb:
                scheme_case(rng, s, m)
            elif m < len(months):
                scheme_case(own("scheme", s.scheme_id), s, m)
        elif s.collapse_month >= mb:  # collapsed after the base window
            g = own("scheme", s.scheme_id)
            m = int(s.collapse_month + g.integers(0, 3))
            if m < len(months):
                scheme_case(g, s, m)

    def enforcement_case(g: np.random.Generator, r, m: int) -> None:
        d = me[m] - np.timedelta64(int(g.integers(0, 25)), "D")
        cases.append(("企业", None, firms["uscc"].iat[r.firm_idx], firms["name"].iat[r.firm_idx], "被执行", d,
                      "法院通报", int(r.amount)))

    dfl = defaulted_firms[defaulted_firms["default_month"] < mb].drop_duplicates("firm_idx") \
        if len(defaulted_firms) else defaulted_firms
    if len(dfl):
        pick = dfl[rng.random(len(dfl)) < 0.3]
        for r in pick.itertuples(index=False):
            m = int(r.default_month + rng.integers(3, 10))
            if 0 <= m < mb:
                enforcement_case(rng, r, m)
            elif mb <= m < len(months):
                enforcement_case(own("firm", str(r.firm_idx)), r, m)
    if len(defaulted_firms):
        later = defaulted_firms[(defaulted_firms["default_month"] >= mb)
                                & ~defaulted_firms["firm_idx"].isin(dfl["firm_idx"])].drop_duplicates("firm_idx")
        for r in later.itertuples(index=False):
            g = own("firm", str(r.firm_idx))
            if g.random() < 0.3:
                m = int(r.default_month + g.integers(3, 10))
                if m < len(months):
                    enforcement_case(g, r, m)
    names = inst["name"].tolist()
    p_pen = 0.03 * np.exp(-0.7 * lag1)
    hit = qext.random(rng, n) < p_pen

    def penalty_case(g: np.random.Generator, i: int, m: int) -> None:
        d = me[m] - np.timedelta64(int(g.integers(0, 25)), "D")
        cases.append(("机构", codes[i], None, names[i], g.choice(["行政处罚", "违规经营"]), d,
                      g.choice(["现场检查", "非现场监管"]), int(g.integers(20, 500)) * 1_000_000))

    for i, q in zip(*np.nonzero(hit[:, :tb]), strict=True):
        penalty_case(rng, i, min(3 * q + int(rng.integers(1, 6)), mb - 1))
    for q in range(tb, t):
        for i in np.flatnonzero(hit[:, q]):
            g = own("penalty", quarters[q].isoformat(), codes[i])
            m = 3 * q + int(g.integers(1, 6))
            if m < len(months):  # not yet otherwise (a later world has it)
                penalty_case(g, i, m)
    cf = pd.DataFrame(cases, columns=["entity_type", "institution_code", "uscc", "entity_name", "case_type",
                                      "opened_date", "source", "amount"])
    if len(cf):
        cf["opened_date"] = cf["opened_date"].astype("datetime64[s]")
    for c in ("institution_code", "uscc"):  # missing is None whichever kinds of case there are
        cf[c] = cf[c].astype(object).where(cf[c].notna(), None)
    cf = cf.sort_values(["opened_date", "entity_name"], kind="stable").reset_index(drop=True)
    cf["report_period"] = [np.datetime64(_month_end(pd.Timestamp(d).date()), "D") for d in cf["opened_date"]]
    cf["case_id"] = [f"CASE{i + 1:06d}" for i in range(len(cf))]
    cf["amount"] = cf["amount"].astype("Int64")
    frames = {"supervisory_rating": rat, "intervention": ivf, "regulator_case": cf[REGULATOR_CASE.column_names]}
    ev = pd.DataFrame(events, columns=["institution_code", "event", "quarter", "detail"])
    return frames, ev
