"""Time ``score_risk``'s work per panel on a built state, cold: no model registered yet, so each panel trains
its candidates (holdout fit and validation folds), applies the guardrails and the promotion rule, then scores
its latest period, exactly as ``ml.dag_tasks.score_preset`` does in the demo (without Airflow and the Cosmos
serving rebuild).

    SUPERVISION_HOME=/tmp/x PYTHONPATH=. python bench/ml/score_cold.py [--presets account,firm] \\
        [--profile /tmp/x/score.pstats] [--out bench/ml/results_score_cold.json]

The state's registry (``$SUPERVISION_HOME/mlflow``) and reports are moved aside for the run and put back
afterwards (the run's own are deleted), so the state keeps its champions. Prints one JSON document: per
panel the seconds, whether a model was promoted and scored or why not, the holdout figures of each
candidate, the load average before and after, and the machine's core count. Run it twice with
``PYTHONPATH`` pointing at two checkouts to compare code on the same data.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path


def _summary(out: dict) -> dict:
    return {k: out.get(k) for k in ("scored", "reason", "version", "entities", "levels")}


def run(presets: list[str], profile: str | None) -> dict:
    from include.config import paths
    from include.warehouse.connection import role_url
    from ml import dag_tasks, fastreg
    from ml.presets import PRESETS

    home = paths().home
    url = role_url("scorer")
    aside = {d: home / f"{d}.kept-{os.getpid()}" for d in ("mlflow", "ml_reports") if (home / d).exists()}
    for d, to in aside.items():
        (home / d).rename(to)
    results = {"load_before": os.getloadavg(), "cpus": os.cpu_count(), "workers": os.environ.get(
        "SUPERVISION_ML_WORKERS", "default"), "code": str(Path(dag_tasks.__file__).resolve().parent.parent),
               "panels": {}}
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
    try:
        for preset in presets:
            t = time.perf_counter()
            if prof:
                prof.enable()
            out = dag_tasks.score_preset(preset, url, run_id="bench-score-cold")
            if prof:
                prof.disable()
            secs = time.perf_counter() - t
            name = PRESETS[preset].model_name
            cands = {}
            for v in fastreg.versions(name):
                _, m = fastreg.meta(name, v["version"])
                h = m.get("holdout_metrics") or {}
                cands[v.get("candidate", v["version"])] = {
                    "holdout_pr_auc": h.get("pr_auc"), "holdout_roc_auc": h.get("roc_auc"),
                    "validation_pr_auc": (m.get("backtest_metrics") or {}).get("pr_auc"),
                    "baseline_pr_auc": (m.get("baseline_holdout") or {}).get("pr_auc"),
                    "guardrails": (m.get("guardrails") or {}).get("short"), "fit_rows": m.get("fit_rows")}
            results["panels"][preset] = {"seconds": round(secs, 1), **_summary(out), "candidates": cands}
            print(f"{preset}: {secs:.1f} s", file=sys.stderr)
    finally:
        for d, to in aside.items():
            shutil.rmtree(home / d, ignore_errors=True)
            to.rename(home / d)
        for d in ("mlflow", "ml_reports"):
            if d not in aside:
                shutil.rmtree(home / d, ignore_errors=True)
        if prof:
            prof.dump_stats(profile)
    results["load_after"] = os.getloadavg()
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presets", default="institution,firm,account")
    ap.add_argument("--profile", help="write cProfile stats of the panels' work here")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    res = run([p.strip() for p in args.presets.split(",") if p.strip()], args.profile)
    text = json.dumps(res, indent=2, default=str)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
