"""Time ``score_risk`` cold on the world in $SUPERVISION_HOME: ``ml.dag_tasks.score_preset`` for each panel, as
the DAG's tasks call it, with an empty model registry (no champion: every candidate is trained, reported,
registered, the guardrails and the promotion rule applied, then the latest period scored).

    SUPERVISION_HOME=/tmp/x PYTHONPATH=<checkout> python bench/ml/score_cold.py --fresh-registry \
        [--presets institution,firm,account] [--profile account] [--out res.json]

As ``supervision run|demo`` runs the DAG, every panel's candidates are evaluated ahead in processes of their own
(``ml.dag_tasks.cold_training_ahead``, when the code has it); ``--no-ahead`` scores the panels one after the other
only. ``--fresh-registry`` DELETES ``$SUPERVISION_HOME/mlflow`` and ``$SUPERVISION_HOME/ml_reports`` first (a
throwaway benchmark state only). ``--profile PRESET`` prints the 30 costliest calls (cumulative) of that
panel. Prints, per panel, the seconds (wall, and CPU of every thread of this process: the work whatever the
load), whether it was scored, and the guardrail figures of each candidate; the total CPU includes the ended
processes that evaluated ahead.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import resource
import shutil
import sys
import time


def _cpu() -> float:
    """CPU seconds of this process so far, every thread (user + system), and of its ended children (the processes
    of ``ml.dag_tasks.cold_training_ahead``): the work, whatever the load."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presets", default="institution,firm,account")
    ap.add_argument("--fresh-registry", action="store_true")
    ap.add_argument("--profile", default="")
    ap.add_argument("--no-ahead", action="store_true",
                    help="score the panels one after the other only (no candidates evaluated ahead in processes)")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    from include.config import paths
    from include.warehouse.connection import role_url

    home = paths().home
    if args.fresh_registry:
        for d in ("mlflow", "ml_reports"):
            shutil.rmtree(home / d, ignore_errors=True)
    from ml import dag_tasks

    cpu0 = _cpu()
    url = role_url("scorer")
    out = {"load_before": os.getloadavg(), "presets": {}}
    total = time.perf_counter()
    presets = tuple(args.presets.split(","))
    # as `supervision run|demo` runs score_risk: every panel's candidates evaluated ahead (when the code has it)
    ahead = getattr(dag_tasks, "cold_training_ahead", None)
    with contextlib.ExitStack() as stack:
        if ahead is not None and not args.no_ahead:
            stack.enter_context(ahead(presets, url))
        _run(presets, args, url, out)
    out["seconds"] = round(time.perf_counter() - total, 1)
    out["cpu_seconds"] = round(_cpu() - cpu0, 1)
    out["load_after"] = os.getloadavg()
    print(f"total {out['seconds']} s ({out['cpu_seconds']} s CPU, this process and its children); "
          f"load {out['load_before'][0]:.1f} -> {out['load_after'][0]:.1f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=2, default=str)
    return 0


def _run(presets, args, url, out) -> None:
    from ml import dag_tasks, fastreg
    from ml.presets import PRESETS

    for preset in presets:
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


if __name__ == "__main__":
    sys.exit(main())
