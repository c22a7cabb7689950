"""Precision and recall of the flow-pattern alerts (marts_flows.flow_alerts) against the simulator's
ground truth. Evaluation code: it reads $SUPERVISION_HOME/ground_truth, which the pipeline never does.

Unit: the receiving account. A positive is a scheme's collection account that received money in the
ingested window; an account is flagged if it has at least one alert. Hard negatives (payroll, merchants,
loan repayments, pensions) are reported separately: how many of them were flagged.

    SUPERVISION_HOME=... python -m bench.warehouse.evaluate_patterns
"""

from __future__ import annotations

import csv
import json
import logging
import sys
from pathlib import Path

import psycopg

from include.config import paths
from include.warehouse.connection import admin_url, libpq_url

log = logging.getLogger(__name__)


def evaluate(ground_truth: Path, url: str) -> dict:
    truth = json.loads((ground_truth / "ground_truth.json").read_text())
    months = set(truth["months"])
    collection = {a for s in truth["schemes"] if set(s["months_active_in_window"]) & months
                  for a in s["collection_accounts"]}
    hard = {}
    with (ground_truth / "hard_negatives.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            hard.setdefault(row["account_no"], row["kind"])
    with psycopg.connect(libpq_url(url)) as conn:
        tokenised = conn.execute("select account_no like 'tk\\_%' from staging.stg_submissions__accounts "
                                 "limit 1").fetchone()
        if tokenised and tokenised[0]:
            # The loader pseudonymised account numbers (include/privacy/pseudonymise.py): compare tokens.
            from include.privacy.pseudonymise import load_key, token

            key = load_key()
            collection = {token(a, "account", key) for a in collection}
            hard = {token(a, "account", key): kind for a, kind in hard.items()}
        active = {r[0] for r in conn.execute(
            "select distinct account_no from staging.stg_submissions__transactions "
            "where direction = '收' and account_no = any(%s)", (sorted(collection),))}
        flagged = {r[0] for r in conn.execute("select distinct account_no from marts_flows.flow_alerts")}
    positives = collection & active
    tp = len(flagged & positives)
    fp = flagged - positives
    hard_flagged: dict[str, int] = {}
    for a in fp:
        if a in hard:
            hard_flagged[hard[a]] = hard_flagged.get(hard[a], 0) + 1
    return {
        "positives": len(positives), "flagged": len(flagged), "true_positives": tp,
        "false_positives": len(fp), "missed": sorted(positives - flagged),
        "precision": round(tp / len(flagged), 4) if flagged else None,
        "recall": round(tp / len(positives), 4) if positives else None,
        "hard_negatives": {k: sum(1 for v in hard.values() if v == k) for k in sorted(set(hard.values()))},
        "hard_negatives_flagged": hard_flagged,
        "preset": truth.get("preset"), "seed": truth.get("seed"),
    }


def main() -> int:
    logging.basicConfig(level=logging.INFO)
    result = evaluate(paths().ground_truth, admin_url())
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
