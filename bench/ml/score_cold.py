"""Time ``score_risk`` cold on the world in $SUPERVISION_HOME: ``ml.dag_tasks.score_preset`` for each panel, as
the DAG's tasks call it, with an empty model registry (no champion: every candidate is trained, reported,
registered, the guardrails and the promotion rule applied, then the latest period scored).

    SUPERVISION_HOME=/tmp/x PYTHONPATH=<checkout> python bench/ml/score_cold.py --fresh-registry \
        [--presets institution,firm,account] [--profile account] [--out res.json]

``--fresh-registry`` DELETES ``$SUPERVISION_HOME/mlflow`` and ``$SUPERVISION_HOME/ml_reports`` first (a
throwaway benchmark state only). ``--profile PRESET`` prints the 30 costliest calls (cumulative) of that
panel. Prints, per panel, the seconds (wall, and CPU of every thread: the work whatever the load), whether it
was scored, and the guardrail figures of each candidate.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import shutil
import sys
import time


def _cpu() -> float:
    """CPU seconds of this process so far, every thread (user + system): the work, whatever the load."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presets", default="institution,firm,account")
    ap.add_argument("--fresh-registry", action="store_true")
    ap.add_argument("--profile", default="")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    from include.config import paths
    from include.warehouse.connection import role_url

    home = paths().home
    if args.fresh_registry:
        for d in ("mlflow", "ml_reports"):
            shutil.rmtree(home / d, ignore_errors=True)
    from ml import dag_tasks, fastreg
    from ml.presets import PRESETS

    url = role_url("scorer")
    out = {"load_before": os.getloadavg(), "presets": {}}
    total = time.perf_counter()
    for preset in args.presets.split(","):
        t, cpu = time.perf_counter(), _cpu()
        prof = cProfile.Profile() if preset == args.profile else None
        if prof:
            prof.enable()
        res = dag_tasks.score_preset(preset, url)
        if prof:
            prof.disable()
        secs, cpu = round(time.perf_counter() - t, 1), round(_cpu() - cpu, 1)
        cands = [{"version": v["version"], "candidate": v.get("candidate"), "holdout_pr_auc": v.get("holdout_pr_auc"),
                  "baseline_pr_auc": v.get("baseline_pr_auc"), "validation_pr_auc": v.get("validation_pr_auc"),
                  "guardrails": v.get("guardrails"), "aliases": v.get("aliases")}
                 for v in fastreg.versions(PRESETS[preset].model_name)]
        out["presets"][preset] = {"seconds": secs, "cpu_seconds": cpu, "scored": res.get("scored"),
                                  "reason": res.get("reason"), "candidates": cands}
        why = f" ({res.get('reason')})" if res.get("reason") else ""
        print(f"{preset}: {secs} s ({cpu} s CPU), scored {res.get('scored')}{why}")
        for c in cands:
            print(f"  v{c['version']} {c['candidate']}: holdout PR-AUC {c['holdout_pr_auc']} (rule "
                  f"{c['baseline_pr_auc']}), validation {c['validation_pr_auc']}, {c['guardrails'][:200]}")
        if prof:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    out["seconds"] = round(time.perf_counter() - total, 1)
    out["cpu_seconds"] = round(sum(p["cpu_seconds"] for p in out["presets"].values()), 1)
    out["load_after"] = os.getloadavg()
    print(f"total {out['seconds']} s ({out['cpu_seconds']} s CPU); "
          f"load {out['load_before'][0]:.1f} -> {out['load_after'][0]:.1f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
