"""The account model under another installation's identifiers (#12): the warehouse's account panel
(``marts_features.account_month_training``) of the world in $SUPERVISION_HOME, trained as ``score_risk``
trains it (every candidate with ``ml.dag_tasks.PRESET_CONFIG``: holdout fit, validation folds, bootstrap,
guardrails), once as read and once with every account id replaced by a keyed hash under another secret (what
another installation's pseudonymisation key gives the same world) and the rows in another order.

    SUPERVISION_HOME=/tmp/x PYTHONPATH=<checkout> python bench/ml/rekey_account.py [--out res.json]

Prints, per run and candidate, the holdout PR-AUC, the rule's, the bootstrap interval of the difference and
the guardrail verdict, then whether the two runs agree exactly (metrics, intervals, verdicts, and every
account's score on the latest month under its re-mapped id). Exit 0 when they agree, 1 when they do not.
Run it with PYTHONPATH at two checkouts to compare code against code on the same panel.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time

import numpy as np
import pandas as pd


def train(raw: pd.DataFrame) -> dict:
    from ml import workflow
    from ml.candidates import KINDS
    from ml.dag_tasks import PRESET_CONFIG
    from ml.panel import build
    from ml.presets import ACCOUNT
    from ml.scoring import as_trained
    from ml.train import evaluate_candidate

    s = ACCOUNT.spec
    panel = workflow.prepared(build(raw, s, ACCOUNT.source), PRESET_CONFIG)
    latest = max(panel.periods(labelled_only=False))
    out = {}
    for kind in ["baseline", *KINDS]:
        t = time.perf_counter()
        r = evaluate_candidate(panel, kind, PRESET_CONFIG)
        out[kind] = {"holdout": r.holdout, "backtest": r.backtest, "bootstrap": r.bootstrap,
                     "guardrails": r.guardrails, "lead": r.lead, "seconds": round(time.perf_counter() - t, 1)}
        if r.model is not None:
            rows = as_trained(panel, r.model).frame
            rows = rows[rows[s.period] == latest]
            out[kind]["scores"] = dict(zip(rows[s.entity], r.model.predict_proba(rows).tolist(), strict=True))
            out[kind]["split"] = r.model.meta["split"]
            out[kind]["fit_rows"] = r.model.meta["fit_rows"]
    return out


def differences(a, b, path="") -> list[str]:
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys differ"]
        return [d for k in a for d in differences(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return []
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def line(name: str, r: dict) -> str:
    b, g = r.get("bootstrap") or {}, r.get("guardrails") or {}
    ci = b.get("vs_baseline_ci", [float("nan")] * 2)
    nan = float("nan")
    return (f"  {name:8s} holdout PR-AUC {r['holdout']['pr_auc']:.3f} (rule {b.get('baseline_pr_auc', nan):.3f}, "
            f"difference {b.get('vs_baseline', float('nan')):+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]), ROC-AUC "
            f"{r['holdout']['roc_auc']:.3f}, validation PR-AUC {r['backtest'].get('pr_auc', float('nan')):.3f}, "
            f"guardrails {'passed' if g.get('passed') else g.get('failed', '')[:160]} ({r['seconds']} s)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    from include.warehouse.connection import role_url
    from ml.panel import read_source
    from ml.presets import ACCOUNT

    ent = ACCOUNT.spec.entity
    raw, _ = read_source(ACCOUNT.source, role_url("scorer"))
    new = {k: "tk_" + hashlib.sha256(f"another-installation:{k}".encode()).hexdigest()[:32] for k in raw[ent].unique()}
    back = {v: k for k, v in new.items()}
    rekeyed = raw.assign(**{ent: raw[ent].map(new)}).sample(frac=1.0, random_state=7)
    runs = {}
    for name, frame in (("as read", raw), ("re-keyed", rekeyed)):
        runs[name] = train(frame)
        print(f"{name}: {len(frame)} rows, {int((frame[ACCOUNT.spec.label] == 1).sum())} positive")
        for kind, r in runs[name].items():
            print(line(kind, r))
    other = runs["re-keyed"]
    for r in other.values():
        if "scores" in r:
            r["scores"] = {back[e]: v for e, v in r["scores"].items()}
    strip = {"seconds"}
    diff = differences(*({k: {kk: vv for kk, vv in r.items() if kk not in strip} for k, r in x.items()}
                         for x in (runs["as read"], other)))
    print("identical" if not diff else f"DIFFERENT in {len(diff)} figures, e.g. " + "; ".join(diff[:5]))
    if args.out:
        from ml.metrics_json import safe

        with open(args.out, "w") as f:
            json.dump(safe({"rows": len(raw), "runs": {n: {k: {kk: vv for kk, vv in r.items() if kk != "scores"}
                                                           for k, r in x.items()} for n, x in runs.items()},
                            "identical": not diff, "differences": diff[:20]}), f, indent=2, default=str)
    return 0 if not diff else 1


if __name__ == "__main__":
    sys.exit(main())
