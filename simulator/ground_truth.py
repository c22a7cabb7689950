"""The simulator's answers, written next to (never inside) the landing zone.

``ground_truth.json``: run parameters, the institution list with what was planted, institution events
(deterioration onset, recovery, high-risk designation, takeover, false-alarm ratings), every scheme
(firm, collection and controller accounts, months, investors, collapse), guarantee circles and chains,
counts of hard negatives, and every capital ratio breach actually present in the submitted figures.
``latent_health.csv``: the latent health score per institution and quarter (the hidden state behind
the ratings). Further CSV tables (``hard_negatives.csv``, ``scheme_investors.csv``, ...) list the
rows behind the counts. The pipeline never reads these.

:func:`payload` and :func:`tables` gather the answers from a :class:`~simulator.world.World`;
:func:`write_ground_truth` writes them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from simulator.disguise import TRICKS
from simulator.prudential import MIN_RATIOS, capital_ratios

if TYPE_CHECKING:
    from simulator.world import World


def check_separate(landing_dir: Path, ground_truth_dir: Path) -> None:
    """Raise ValueError unless the two directories are distinct and neither contains the other."""
    land = Path(landing_dir).resolve()
    gt = Path(ground_truth_dir).resolve()
    if gt == land or gt.is_relative_to(land) or land.is_relative_to(gt):
        raise ValueError(f"ground truth ({gt}) must be beside, never inside, the landing zone ({land})")


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_ground_truth(ground_truth_dir: Path, payload: dict, health_long: pd.DataFrame,
                       tables: dict[str, pd.DataFrame] | None = None) -> list[Path]:
    """Write ``ground_truth.json`` (``payload``), ``latent_health.csv`` and each of ``tables``
    (file name -> frame, written as UTF-8 CSV); returns the paths."""
    gt = Path(ground_truth_dir)
    gt.mkdir(parents=True, exist_ok=True)
    js = gt / "ground_truth.json"
    _atomic_write(js, (json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=False) + "\n").encode())
    h = health_long.copy()
    h["report_period"] = pd.to_datetime(h["report_period"]).dt.strftime("%Y-%m-%d")
    h["health_z"] = [f"{v:.6f}" for v in h["health_z"].tolist()]
    csv_path = gt / "latent_health.csv"
    _atomic_write(csv_path, h.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    out = [js, csv_path]
    for name, frame in (tables or {}).items():
        path = gt / name
        _atomic_write(path, frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))
        out.append(path)
    return out


def _iso(d) -> str:
    return pd.Timestamp(d).date().isoformat()


def _month_iso(world: World, m: int) -> str | None:
    return world.months[m].isoformat() if 0 <= m < len(world.months) else None


def _events(world: World) -> pd.DataFrame:
    """The institution events: the prudential history's (if any), then the window's."""
    if world.history is None:
        return world.events
    return pd.concat([world.history.events, world.events], ignore_index=True)


def payload(world: World) -> dict:
    inst = world.universe.institutions
    h = world.health
    det = dict(zip(h.codes, h.deteriorating.tolist(), strict=True))
    rec = dict(zip(h.codes, h.recovering.tolist(), strict=True))
    cap = world.frames["capital_report"]
    if world.history is not None:  # the prudential history's reports and events are ground truth too
        cap = pd.concat([world.history.frames["capital_report"], cap], ignore_index=True)
    ratios = capital_ratios(cap)
    breach_cols = [f"breach_{k}" for k in MIN_RATIOS]
    breaches = ratios[ratios[breach_cols].any(axis=1)]
    ev = _events(world)
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
        if "disguised" in world.schemes:  # only when the preset disguises schemes (simulator.disguise)
            schemes[-1]["disguise"] = [t for t in TRICKS if getattr(s, t)]
            mules = np.asarray(s.mules, dtype=int)
            schemes[-1]["mule_accounts"] = bk_.accounts["account_no"].to_numpy()[mules].tolist()
    hn = hard_negatives(world)
    return {
        "generator": "simulator",
        "preset": world.preset.name,
        "seed": world.seed,
        "periods": [p.isoformat() for p in world.periods],
        "months": [m.isoformat() for m in world.months],
        "history_quarters": [q.isoformat() for q in world.history.quarters] if world.history else [],
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
            # the prudential history's episodes (a capital breach there is one of these, or noise)
            "history_distress": sorted(ev.loc[ev["event"] == "history_distress", "institution_code"]),
            "history_dip": sorted(ev.loc[ev["event"] == "history_dip", "institution_code"]),
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


def hard_negatives(world: World) -> pd.DataFrame:
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


def tables(world: World) -> dict[str, pd.DataFrame]:
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
        "hard_negatives.csv": hard_negatives(world),
        "scheme_investors.csv": investors,
        "planted_guarantee_loans.csv": circles_loans,
        "institution_events.csv": _events(world).assign(quarter=_events(world)["quarter"].map(_iso)),
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
