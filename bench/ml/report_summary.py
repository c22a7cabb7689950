"""The figures of every candidate report under an ``ml_reports`` directory (``$SUPERVISION_HOME/ml_reports``
after ``bench/ml/score_cold.py --fresh-registry``), one line per candidate: split, holdout rows / events /
prevalence (chance), PR-AUC of the candidate and of the rule, predicted/observed, the guardrail verdicts and
the lead time (bench/README "Early-warning models", 7 Dec censor8)::

    python bench/ml/report_summary.py $SUPERVISION_HOME/ml_reports [--out res.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.ml.results import save


def _r(x, n=4):
    return None if x is None else round(float(x), n)


def summarise(root: Path) -> dict:
    out: dict = {}
    for f in sorted(root.glob("*/*/metrics.json")):
        d = json.loads(f.read_text())
        m = d["meta"]
        h = m.get("holdout_metrics") or {}
        base = ((d.get("others") or {}).get("baseline") or {}).get("holdout") or {}
        g = m.get("guardrails") or {}
        out.setdefault(d["model"], []).append({
            "candidate": d["candidate"], "split": m.get("split"),
            "holdout": {"rows": h.get("n"), "events": h.get("positives"), "prevalence": _r(h.get("prevalence"), 5)},
            "fit_rows": m.get("fit_rows"), "pr_auc": _r(h.get("pr_auc")), "rule_pr_auc": _r(base.get("pr_auc")),
            "roc_auc": _r(h.get("roc_auc")), "predicted_over_observed": _r(h.get("predicted_over_observed"), 2),
            "validation_pr_auc": _r((m.get("backtest_metrics") or {}).get("pr_auc")),
            "guardrails": {r["rule"]: ("ok " if r["passed"] else "FAIL ") + r["detail"] for r in g.get("rules", [])},
            "lead_time": m.get("lead_time"),
        })
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reports")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    out = summarise(Path(args.reports))
    for model, cands in out.items():
        for c in cands:
            print(f"{model} {c['candidate']}: holdout {c['holdout']}; PR-AUC {c['pr_auc']} vs rule {c['rule_pr_auc']} "
                  f"(chance {c['holdout']['prevalence']}); predicted/observed {c['predicted_over_observed']}; "
                  f"failed: {[k for k, v in c['guardrails'].items() if v.startswith('FAIL')]}")
    save(out, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
