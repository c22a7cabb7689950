"""``ml compare``: registered versions side by side, only where they were judged on the same holdout.

PR-AUCs measured on different holdouts (other periods, or the same periods with other data) are not
comparable; the table shows one holdout (the champion's by default) and says which versions it leaves
out and why. Reads the registry without MLflow (``ml.fastreg``): answers in well under a second.
"""

from __future__ import annotations

from ml import fastreg
from ml.errors import MLError


def _f(v) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if x == x else None


def _periods(v: dict) -> str:
    ps = [p for p in (v.get("holdout_periods") or "").split(",") if p]
    return f"{ps[0]}..{ps[-1]} ({len(ps)})" if ps else "(unrecorded)"


def rows(model_name: str) -> list[dict]:
    return [{"version": v["version"], "candidate": v.get("candidate"), "holdout": _periods(v),
             "holdout_key": v.get("holdout_fingerprint", "")[:16], "pr_auc": _f(v.get("holdout_pr_auc")),
             "roc_auc": _f(v.get("holdout_roc_auc")), "brier": _f(v.get("holdout_brier")),
             "baseline_pr_auc": _f(v.get("baseline_pr_auc")), "validation_pr_auc": _f(v.get("validation_pr_auc")),
             "guardrails": (v.get("guardrails") or "not recorded").split(":")[0], "aliases": v["aliases"]}
            for v in fastreg.versions(model_name)]


def table(model_name: str, holdout: str | None = None, as_json: bool = False):
    rs = rows(model_name)
    if not rs:
        raise MLError(f"{model_name}: no registered model of that name (train one first)")
    if holdout:
        pick = [r for r in rs if r["holdout"].startswith(holdout) or r["holdout_key"].startswith(holdout)]
        if not pick:
            raise MLError(f"{model_name}: no version judged on holdout {holdout!r}; holdouts are "
                          f"{sorted({r['holdout'] for r in rs})}")
        key = pick[0]["holdout_key"]
    else:
        ref = next((r for r in rs if "champion" in r["aliases"]), rs[-1])
        key = ref["holdout_key"]
    same = [r for r in rs if r["holdout_key"] == key]
    other = [r for r in rs if r["holdout_key"] != key]
    note = (f"not compared: versions {', '.join(r['version'] for r in other)} were judged on other holdouts "
            f"({', '.join(sorted({r['holdout'] for r in other}))}); their PR-AUCs are not comparable with these "
            "(show them with --holdout)") if other else ""
    if as_json:
        return {"model_name": model_name, "holdout": same[0]["holdout"], "versions": same, "not_compared": note}
    head = ("version", "candidate", "holdout periods", "PR-AUC", "ROC-AUC", "baseline PR-AUC", "validation PR-AUC",
            "guardrails", "alias")
    body = [(r["version"], r["candidate"] or "", r["holdout"], _s(r["pr_auc"]), _s(r["roc_auc"]),
             _s(r["baseline_pr_auc"]), _s(r["validation_pr_auc"]), r["guardrails"], ",".join(r["aliases"]))
            for r in same]
    w = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(str(x).ljust(n) for x, n in zip(line, w, strict=True)).rstrip() for line in (head, *body)]
    lines.insert(1, "  ".join("-" * n for n in w))
    return "\n".join([f"{model_name}: holdout {same[0]['holdout']}", *lines, *([note] if note else [])])


def _s(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"
