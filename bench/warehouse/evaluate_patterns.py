"""Precision and recall of the flow-pattern alerts (marts_flows.flow_alerts) against the simulator's
ground truth. Evaluation code: it reads $SUPERVISION_HOME/ground_truth, which the pipeline never does.

Unit: the receiving account. A positive is a scheme's collection account that received money in the
ingested window; an account is flagged if it has at least one alert. Hard negatives (payroll, merchants,
loan repayments, pensions) are reported separately: how many of them were flagged.

    SUPERVISION_HOME=... python -m bench.warehouse.evaluate_patterns [--queue] [--plain-k 5]

``--queue`` (#12) evaluates the ranked queue instead, per account-month: per typology (classic schemes,
disguised ones, and each disguise trick; mule accounts for ``mule_chain``), recall among the top 1% and
5% of all scored account-months (``int_flows__account_scores.flow_score``), precision of
``flow_alerts`` (the queue at its capacity), and the plain rule "at least k distinct senders in the
month" ranked by its sender count and cut at the same alert volume, in the same run.
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


def _positives(truth: dict, tokenise) -> dict[str, set[tuple[str, str]]]:
    """Account-months (account, month ISO) per typology group."""
    groups: dict[str, set[tuple[str, str]]] = {"all": set(), "classic": set(), "disguised": set()}
    for s in truth["schemes"]:
        tricks = s.get("disguise", [])
        months = s["months_active_in_window"]
        coll = {(tokenise(a), m) for a in s["collection_accounts"] for m in months}
        mules = {(tokenise(a), m) for a in s.get("mule_accounts", []) for m in months}
        groups["all"] |= coll | mules
        groups["disguised" if tricks else "classic"] |= coll
        if "neutral_purpose" in tricks:
            groups.setdefault("disguised_neutral_purpose", set()).update(coll)
        for t in tricks:
            if t == "mule_chain":
                groups.setdefault("mule_chain (mule accounts)", set()).update(mules)
            elif t != "neutral_purpose":
                groups.setdefault(t, set()).update(coll)
    return groups


def evaluate_queue(ground_truth: Path, url: str, plain_k: int = 5) -> dict:
    truth = json.loads((ground_truth / "ground_truth.json").read_text())
    with psycopg.connect(libpq_url(url)) as conn:
        tokenised = conn.execute("select account_no like 'tk\\_%' from staging.stg_submissions__accounts "
                                 "limit 1").fetchone()
        key = None
        if tokenised and tokenised[0]:
            from include.privacy.pseudonymise import load_key, token

            key = load_key()

        def tokenise(a: str) -> str:
            return token(a, "account", key) if key is not None else a
        scored = conn.execute(
            "select account_no, period::text, flow_score, is_eligible from intermediate.int_flows__account_scores "
            "order by is_eligible desc, flow_score desc, institution_code, account_no, period").fetchall()
        alerts = conn.execute("select account_no, period::text from marts_flows.flow_alerts").fetchall()
        queue = conn.execute("select account_no, period::text, row_number() over (partition by bureau_code, period "
                             "order by flow_score desc, institution_code, account_no) from "
                             "intermediate.int_flows__account_scores where is_eligible").fetchall()
        senders = conn.execute(
            "select account_no, period::text, count(*) from intermediate.int_flows__counterparty_months "
            "where n_in > 0 and counterparty_account <> '' group by institution_code, account_no, period "
            "order by 3 desc, institution_code, account_no, period").fetchall()
    groups = _positives(truth, tokenise)
    keys = [(a, p) for a, p, _, _ in scored]
    n = len(keys)
    volume = len(alerts)
    rule = [(a, p) for a, p, c in senders if c >= plain_k]
    rule_cut = [(a, p) for a, p, _ in senders[:volume]]  # the rule with k lowered or raised to the same volume
    out: dict = {"preset": truth.get("preset"), "seed": truth.get("seed"), "account_months_scored": n,
                 "queue_alerts": volume, "plain_rule": {"k": plain_k, "account_months_flagged": len(rule),
                                                         "min_senders_at_equal_volume":
                                                         senders[min(volume, len(senders)) - 1][2] if volume else None}}
    scored_set = set(keys)
    alert_set = set(alerts)
    for name, pos in sorted(groups.items()):
        pos = pos & scored_set  # the account received from a known account that month
        if not pos:
            continue
        row = {"positives": len(pos)}
        for share in (0.01, 0.05):
            top = set(keys[: max(1, int(round(n * share)))])
            row[f"recall_top_{int(share * 100)}pct"] = round(len(pos & top) / len(pos), 3)
            rtop = {(a, p) for a, p, _ in senders[: max(1, int(round(n * share)))]}
            row[f"plain_recall_top_{int(share * 100)}pct"] = round(len(pos & rtop) / len(pos), 3)
        row["recall_in_queue"] = round(len(pos & alert_set) / len(pos), 3)
        row["plain_recall_equal_volume"] = round(len(pos & set(rule_cut)) / len(pos), 3)
        out[name] = row
    every = groups["all"]
    out["precision_at_capacity"] = round(len(alert_set & every) / volume, 4) if volume else None
    out["plain_precision_equal_volume"] = round(len(set(rule_cut) & every) / len(rule_cut), 4) if rule_cut else None
    # the same queue at other monthly capacities per bureau, against the plain rule at each volume
    out["capacities"] = {}
    for cap in (2, 5, 10, 20):
        picked = {(a, p) for a, p, r in queue if r <= cap}
        plain = {(a, p) for a, p, _ in senders[: len(picked)]}
        out["capacities"][cap] = {
            "alerts": len(picked), "precision": round(len(picked & every) / len(picked), 4) if picked else None,
            "recall": round(len(picked & every) / len(every & scored_set), 3),
            "plain_precision": round(len(plain & every) / len(plain), 4) if plain else None,
            "plain_recall": round(len(plain & every) / len(every & scored_set), 3)}
    out["plain_precision_all_flagged"] = round(len(set(rule) & every) / len(rule), 4) if rule else None
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--queue", action="store_true", help="evaluate the ranked queue per account-month")
    ap.add_argument("--plain-k", type=int, default=5, help="the plain rule's minimum distinct senders")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    if args.queue:
        result = evaluate_queue(paths().ground_truth, admin_url(), args.plain_k)
    else:
        result = evaluate(paths().ground_truth, admin_url())
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
