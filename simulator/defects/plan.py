"""Which defect goes where, before anything is touched: per month from ``stream(seed, "defects",
<month>)``, then ``min_each`` from its own stream (see :mod:`simulator.defects`)."""

from __future__ import annotations

from datetime import date, datetime

from include.registry.datasets import DATASETS
from simulator.defects.catalogue import CATALOGUE, FILE_KINDS, ROW_KINDS, SUBMISSION_KINDS, DefectConfig
from simulator.defects.files import FILE_APPLIES
from simulator.defects.records import Sub
from simulator.defects.rows import ROW_DATASETS
from simulator.rng import stream
from simulator.schedule import DEADLINE_DAYS


def _applies(kind: str, sub: Sub, entry: dict | None) -> bool:
    k = CATALOGUE[kind]
    if k.level == "submission":
        if kind == "resubmission_corrected":
            return any(e["rows"] >= 2 for e in sub.manifest["files"])
        if kind == "late_submission":
            return _lag_days(sub.manifest) <= DEADLINE_DAYS
        return True
    if entry is None:
        return False
    if k.level == "row":
        return entry["rows"] > 0 and ROW_DATASETS[kind](DATASETS[entry["dataset"]])
    return FILE_APPLIES.get(kind, lambda e: True)(entry)


def _lag_days(manifest: dict) -> int:
    return (datetime.fromisoformat(manifest["submitted_at"]).date() - date.fromisoformat(manifest["period"])).days


Plan = dict[str, dict]  # submission_id -> {"submission": kind | None, "files": {file: kind}}


def _targets(subs: list[Sub], kind: str, plan: Plan) -> list[tuple[str, str | None]]:
    out = []
    level = CATALOGUE[kind].level
    for s in subs:
        sid = s.manifest["submission_id"]
        p = plan.get(sid, {"submission": None, "files": {}})
        if p["submission"]:
            continue
        if level == "submission":
            if not p["files"] and _applies(kind, s, None):
                out.append((sid, None))
        else:
            out += [(sid, e["file"]) for e in s.manifest["files"]
                    if e["file"] not in p["files"] and _applies(kind, s, e)]
    return out


def plan_defects(subs: list[Sub], config: DefectConfig, seed: int, *, min_each: bool = True) -> Plan:
    """Which defect goes where: a submission gets one submission-level kind or file kinds, a file at
    most one kind. Rates per file / submission; then ``min_each`` for kinds still missing."""
    plan: Plan = {}
    rates = {k: float(config.rates.get(k, 0.0)) for k in CATALOGUE}
    by_month: dict[str, list[Sub]] = {}
    for s in subs:
        by_month.setdefault(s.manifest["period"], []).append(s)
    for month in sorted(by_month):
        rng = stream(seed, "defects", month)
        for s in by_month[month]:
            sid = s.manifest["submission_id"]
            kinds = [k for k in SUBMISSION_KINDS if rates[k] > 0 and _applies(k, s, None)]
            u = rng.random()
            chosen = _draw(kinds, rates, u)
            files = {}
            if chosen is None:
                for e in s.manifest["files"]:
                    fk = [k for k in ROW_KINDS + FILE_KINDS if rates[k] > 0 and _applies(k, s, e)]
                    got = _draw(fk, rates, rng.random())
                    if got:
                        files[e["file"]] = got
            if chosen or files:
                plan[sid] = {"submission": chosen, "files": files}
    if min_each and config.min_each > 0:
        rng = stream(seed, "defects", "min_each")
        for kind in CATALOGUE:
            if rates[kind] <= 0:
                continue
            have = sum(1 for p in plan.values() if p["submission"] == kind or kind in p["files"].values())
            for _ in range(config.min_each - have):
                cand = _targets(subs, kind, plan)
                if not cand:
                    break
                sid, file = cand[int(rng.integers(len(cand)))]
                p = plan.setdefault(sid, {"submission": None, "files": {}})
                if file is None:
                    p["submission"] = kind
                else:
                    p["files"][file] = kind
    return plan


def _draw(kinds: list[str], rates: dict[str, float], u: float) -> str | None:
    """Kind ``u`` falls on: cumulative rates (normalised when they sum to more than 1), else None."""
    total = sum(rates[k] for k in kinds)
    if not kinds or total <= 0 or u >= total:
        return None
    norm = max(total, 1.0)
    acc = 0.0
    for k in kinds:
        acc += rates[k] / norm
        if u < acc:
            return k
    return kinds[-1]
