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

from include.datasets import INTERVENTION, REGULATOR_CASE, SUPERVISORY_RATING
from include.simulate.health import HealthPanel
from include.simulate.rng import stream

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
              firms: pd.DataFrame, schemes: pd.DataFrame, defaulted_firms: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """(frames for supervisory_rating / intervention / regulator_case, institution events for the
    ground truth). ``defaulted_firms``: firm_idx, default_month, amount (fen) of defaulted corporate loans."""
    rng = stream(seed, "supervision")
    codes = inst["institution_code"].tolist()
    n, t = health.z.shape
    z = health.z
    lag1 = np.concatenate([z[:, :1], z[:, :-1]], axis=1)
    lag2 = np.concatenate([lag1[:, :1], lag1[:, :-1]], axis=1)
    view = 0.6 * lag1 + 0.4 * lag2
    score = 2.4 - 0.85 * view + rng.normal(0, 0.55, size=(n, t))
    rating = np.clip(np.rint(score), 1, 6).astype(int)
    events = []
    # planted false alarms: healthy institutions rated 5 once
    healthy = np.flatnonzero(~health.deteriorating & ~health.recovering)
    k = min(len(healthy), max(1, n // 25))
    for i in rng.choice(healthy, size=k, replace=False):
        q = int(rng.integers(1, t))
        rating[i, q] = 5
        events.append({"institution_code": codes[i], "event": "false_alarm_rating", "quarter": quarters[q],
                       "detail": "rated 5 for governance failings no indicator shows"})
    # takeovers: the weakest planted institutions at the end
    det = np.flatnonzero(health.deteriorating)
    weakest = det[np.argsort(z[det, -1])][: max(1, n // 80)] if len(det) else det
    status = np.full((n, t), "", dtype=object)
    for i in weakest:
        status[i, -1] = "S"
        events.append({"institution_code": codes[i], "event": "takeover", "quarter": quarters[-1],
                       "detail": "rated S and taken over (接管)"})
    rating_txt = np.where(status == "S", "S", rating.astype(str)).astype(object)
    qd = np.array(quarters, dtype="datetime64[D]")
    rated_at = qd[None, :] + rng.integers(40, 71, size=(n, t)).astype("timedelta64[D]")
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
            r = rating[i, q]
            when = rated_at[i, q] + np.timedelta64(int(rng.integers(5, 40)), "D")
            if status[i, q] == "S":
                iv.append((codes[i], when, "接管", REASONS["capital"]))
            elif r >= 4 and rng.random() < {4: 0.5, 5: 0.9, 6: 1.0}[r]:
                reason = REASONS[rng.choice(["capital", "npl", "liquidity"])] if view[i, q] < -1.0 else \
                    REASONS[rng.choice(["governance", "data", "related"])]
                iv.append((codes[i], when, rng.choice(MEASURES_BY_RATING[r]), reason))
    routine = rng.random((n, len(months))) < 0.01
    for i, m in zip(*np.nonzero(routine), strict=True):
        d = np.datetime64(months[m], "D") - np.timedelta64(int(rng.integers(0, 27)), "D")
        iv.append((codes[i], d, "风险提示", REASONS[rng.choice(["data", "related", "governance"])]))
    ivf = pd.DataFrame(iv, columns=["institution_code", "measure_date", "measure_type", "reason"])
    ivf["measure_date"] = ivf["measure_date"].astype("datetime64[s]") if len(ivf) else \
        ivf["measure_date"]
    ivf = ivf[ivf["measure_date"].to_numpy().astype("datetime64[D]") <= last] if len(ivf) else ivf
    ivf = ivf.sort_values(["measure_date", "institution_code"], kind="stable").reset_index(drop=True)
    ivf["report_period"] = [np.datetime64(_month_end(pd.Timestamp(d).date()), "D") for d in ivf["measure_date"]]
    ivf["intervention_id"] = [f"IV{i + 1:06d}" for i in range(len(ivf))]
    ivf = ivf[INTERVENTION.column_names]

    # cases
    cases = []
    me = np.array(months, dtype="datetime64[D]")
    for s in schemes.itertuples(index=False):
        if s.collapse_month >= 0:
            m = int(s.collapse_month + rng.integers(0, 3))
            if m < len(months):
                d = me[m] - np.timedelta64(int(rng.integers(0, 25)), "D")
                cases.append(("企业", None, firms["uscc"].iat[s.firm_idx], firms["name"].iat[s.firm_idx], "非法集资", d,
                              rng.choice(["群众举报", "公安移送"]), int(s.raised)))
    if len(defaulted_firms):
        pick = defaulted_firms[rng.random(len(defaulted_firms)) < 0.3]
        for r in pick.itertuples(index=False):
            m = int(r.default_month + rng.integers(3, 10))
            if 0 <= m < len(months):
                d = me[m] - np.timedelta64(int(rng.integers(0, 25)), "D")
                cases.append(("企业", None, firms["uscc"].iat[r.firm_idx], firms["name"].iat[r.firm_idx], "被执行", d,
                              "法院通报", int(r.amount)))
    names = inst["name"].tolist()
    p_pen = 0.03 * np.exp(-0.7 * lag1)
    hit = rng.random((n, t)) < p_pen
    for i, q in zip(*np.nonzero(hit), strict=True):
        m = min(3 * q + int(rng.integers(1, 6)), len(months) - 1)
        d = me[m] - np.timedelta64(int(rng.integers(0, 25)), "D")
        cases.append(("机构", codes[i], None, names[i], rng.choice(["行政处罚", "违规经营"]), d,
                      rng.choice(["现场检查", "非现场监管"]), int(rng.integers(20, 500)) * 1_000_000))
    cf = pd.DataFrame(cases, columns=["entity_type", "institution_code", "uscc", "entity_name", "case_type",
                                      "opened_date", "source", "amount"])
    if len(cf):
        cf["opened_date"] = cf["opened_date"].astype("datetime64[s]")
    cf = cf.sort_values(["opened_date", "entity_name"], kind="stable").reset_index(drop=True)
    cf["report_period"] = [np.datetime64(_month_end(pd.Timestamp(d).date()), "D") for d in cf["opened_date"]]
    cf["case_id"] = [f"CASE{i + 1:06d}" for i in range(len(cf))]
    cf["amount"] = cf["amount"].astype("Int64")
    frames = {"supervisory_rating": rat, "intervention": ivf, "regulator_case": cf[REGULATOR_CASE.column_names]}
    ev = pd.DataFrame(events, columns=["institution_code", "event", "quarter", "detail"])
    return frames, ev
