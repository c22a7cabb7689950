"""Time the account panel's cold training without a warehouse: a synthetic panel of the `small` account panel's
shape (24 month ends, ~13,300 accounts a month: ~319k account-months, the preset's 20 features and its
``flow_score`` baseline, ~90 positive account-months from 25 accounts, the last month unlabelled), trained as
``ml.dag_tasks.score_preset`` trains a panel without a champion: every candidate with ``PRESET_CONFIG``
(holdout fit, validation folds, bootstrap, guardrails, report, MLflow registration), then the challenger
chosen and the promotion rule applied. Not the warehouse's data: for timing code against code, not figures.

    PYTHONPATH=<checkout> python bench/ml/synthetic_account.py [--accounts 13300] [--out x.json]

Runs in a temporary SUPERVISION_HOME (registry and reports), deleted afterwards. Run it with PYTHONPATH
pointing at two checkouts, back to back, to compare them on the same panel.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def synthetic(accounts: int, months: int = 24, seed: int = 7) -> pd.DataFrame:
    from ml.presets import ACCOUNT

    rng = np.random.default_rng(seed)
    periods = pd.date_range("2024-01-31", periods=months, freq="ME")
    bad = rng.choice(accounts, 25, replace=False)  # 25 accounts whose holder gets a case
    case_month = {int(a): int(rng.integers(8, months)) for a in bad}
    rows = []
    for t, p in enumerate(periods):
        f = {c: rng.random(accounts) for c in ACCOUNT.spec.features}
        label = np.zeros(accounts)
        for a, m in case_month.items():
            ahead = m - t
            if 0 < ahead <= 6 and rng.random() < 0.6:  # ~90 positive account-months in all
                label[a] = 1
                for c in ACCOUNT.spec.features[:6]:
                    f[c][a] = min(1.0, f[c][a] + rng.uniform(0.2, 0.6))
        frame = pd.DataFrame({"account_key": [f"B{a:06d}" for a in range(accounts)], "period": p.date(), **f})
        frame["flow_score"] = frame[list(ACCOUNT.spec.features[:4])].max(axis=1)
        frame["label_case_6m"] = label if t < months - 1 else np.nan
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--accounts", type=int, default=13_300)
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="synthetic-account-") as home:
        os.environ["SUPERVISION_HOME"] = home
        from ml import dag_tasks, fastreg, workflow
        from ml.panel import load
        from ml.presets import ACCOUNT

        csv = Path(home) / "panel.csv"
        synthetic(args.accounts).to_csv(csv, index=False)
        t0 = time.perf_counter()
        panel = load(str(csv), ACCOUNT.spec)
        out = {"code": str(Path(dag_tasks.__file__).resolve().parent.parent), "rows": len(panel.frame),
               "positives": int(panel.labelled[ACCOUNT.spec.label].sum()), "load_before": os.getloadavg(),
               "workers": os.environ.get("SUPERVISION_ML_WORKERS", "default"), "load_seconds": 0.0,
               "candidates": {}}
        out["load_seconds"] = round(time.perf_counter() - t0, 1)
        trained = []
        for kind in dag_tasks.CANDIDATES:
            t = time.perf_counter()
            r = workflow.train_one(panel, ACCOUNT.model_name, kind, dag_tasks.PRESET_CONFIG)
            trained.append(r)
            out["candidates"][kind] = {"seconds": round(time.perf_counter() - t, 1),
                                       "holdout_pr_auc": r["holdout"].get("pr_auc"),
                                       "validation_pr_auc": (r["backtest"] or {}).get("pr_auc"),
                                       "guardrails": (r["guardrails"] or {}).get("short")}
            print(f"{kind}: {out['candidates'][kind]['seconds']} s", file=sys.stderr)
        t = time.perf_counter()
        challenger = workflow.choose_challenger(ACCOUNT.model_name, trained)
        d = workflow.promote(panel, ACCOUNT.model_name, challenger)
        out["promote_seconds"] = round(time.perf_counter() - t, 1)
        out["promoted"] = bool(d.promote and fastreg.alias_version(ACCOUNT.model_name, "champion"))
        out["total_seconds"] = round(time.perf_counter() - t0, 1)
        out["load_after"] = os.getloadavg()
    text = json.dumps(out, indent=2, default=str)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
