"""Issue "Early-warning models a risk team can trust", Must show: the institution and firm models on a
built warehouse (e.g. `small`, an untuned seed), with bootstrap intervals against the rule baseline and
the guardrail verdicts, and the wall time of the fast sub-commands.

    SUPERVISION_HOME=... PYTHONPATH=. .venv/bin/python bench/ml/trust_small.py --out bench/ml/results_trust.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


def summary(out: dict) -> dict:
    runs = []
    for r in out["runs"]:
        b = r.get("bootstrap") or {}
        runs.append({"candidate": r["candidate"], "version": r["version"],
                     "validation_pr_auc": r["backtest"].get("pr_auc"),
                     "holdout": {k: r["holdout"].get(k) for k in ("n", "positives", "roc_auc", "pr_auc", "brier", "ece",
                                                                  "recall_top1", "recall_top5", "recall_top10")},
                     "pr_auc_ci": b.get("pr_auc_ci"), "baseline_pr_auc": b.get("baseline_pr_auc"),
                     "baseline_pr_auc_ci": b.get("baseline_pr_auc_ci"), "vs_baseline": b.get("vs_baseline"),
                     "vs_baseline_ci": b.get("vs_baseline_ci"), "vs_chance_ci": b.get("vs_chance_ci"),
                     "baseline_holdout": (r.get("baseline") or {}).get("holdout"),
                     "guardrails": (r.get("guardrails") or {}).get("failed") or "passed"})
    return {"split": out["split"], "runs": runs, "challenger": out["challenger"], "promotion": out.get("promotion"),
            "seconds": out["seconds"]}


def timed(args: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ml", *args], capture_output=True, check=False)
    return round(time.perf_counter() - t, 2)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--presets", default="institution,firm")
    args = ap.parse_args()
    from include.warehouse.connection import role_url
    from ml import workflow
    from ml.dag_tasks import panel
    from ml.presets import PRESETS

    res = {}
    for name in args.presets.split(","):
        p = PRESETS[name]
        try:
            pnl = panel(name, role_url("scorer"))
            from ml.dag_tasks import PRESET_CONFIG

            out = workflow.train(pnl, p.model_name, cfg=PRESET_CONFIG)
            if out["challenger"]:
                d = workflow.promote(pnl, p.model_name, out["challenger"])
                out["promotion"] = {"promoted": d.promote, "reason": d.reason}
            res[name] = summary(out)
        except Exception as e:  # noqa: BLE001 - a bench records what happened
            res[name] = {"error": f"{type(e).__name__}: {e}"}
        json.dump(res, open(args.out, "w"), indent=2, default=str)
    name = PRESETS[args.presets.split(",")[0]].model_name
    res["cli_seconds"] = {"--help": timed(["--help"]), "compare": timed(["compare", "--name", name]),
                          "report": timed(["report", "--name", name, "--ref", "1"]),
                          "promote": timed(["promote", "--name", name])}  # the challenger: decides again
    json.dump(res, open(args.out, "w"), indent=2, default=str)
    print(json.dumps(res, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
