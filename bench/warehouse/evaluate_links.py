"""Precision and recall of firm entity resolution (intermediate.int_entities__firm_links) against the
simulator's ground truth. Evaluation code: it reads $SUPERVISION_HOME/ground_truth, which the pipeline
never does.

Two populations, reported separately:

* **Name-only mentions** (no USCC on the record: the advertisers of illegal-advert leads). The answer key
  is ``external_advert_labels.csv``: a lead names a firm (its USCC), an institution (not a firm: the right
  answer is "unresolved"), or an advertiser in no registry. A link is correct when it names the true firm;
  precision = correct / linked, recall = correct / mentions of a firm. By advertiser form (full name,
  short name, variant, ...), so it shows which forms the name fallback can and cannot resolve.
* **USCC-carrying mentions** (customer records, loans, guarantees, cases, registry, court): linked by key.
  Checked for what can go wrong: a USCC that names no known firm (registry or a bank's customer records).

    SUPERVISION_HOME=... python -m bench.warehouse.evaluate_links
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from pathlib import Path

import psycopg

from include.config import paths
from include.warehouse.connection import admin_url, libpq_url


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def evaluate(ground_truth: Path, url: str) -> dict:
    with (ground_truth / "external_advert_labels.csv").open(encoding="utf-8") as f:
        truth = {r["lead_id"]: r for r in csv.DictReader(f)}
    with psycopg.connect(libpq_url(url)) as conn:
        links = dict(conn.execute("select record_key, firm_uscc from intermediate.int_entities__firm_links "
                                  "where source = 'advert_lead'").fetchall())
        by_key = conn.execute(
            "select count(*), count(*) filter (where not exists (select 1 from intermediate.int_entities__firm_links k "
            "where k.source in ('registry', 'corporate_customer') and k.firm_uscc = l.firm_uscc)) "
            "from intermediate.int_entities__firm_links l where l.link_method = 'uscc'").fetchone()
    firm_mentions = linked = correct = 0
    forms: dict[str, Counter] = {}
    for lead_id, firm in links.items():
        t = truth.get(lead_id)
        if t is None:
            continue
        is_firm = t["linked_entity_type"] == "firm"
        c = forms.setdefault(t["advertiser_form"] if is_firm else f"not_a_firm:{t['advertiser_form']}", Counter())
        c["mentions"] += 1
        firm_mentions += is_firm
        if firm is not None:
            linked += 1
            c["linked"] += 1
            if is_firm and firm == t["linked_id"]:
                correct += 1
                c["correct"] += 1
    return {
        "name_only": {
            "mentions": len(links), "mentions_of_a_firm": firm_mentions, "linked": linked, "correct": correct,
            "precision": _ratio(correct, linked), "recall": _ratio(correct, firm_mentions),
            "by_form": {k: dict(v) for k, v in sorted(forms.items())},
        },
        "by_uscc": {"mentions": by_key[0], "naming_no_known_firm": by_key[1]},
    }


def main() -> int:
    json.dump(evaluate(paths().ground_truth, admin_url()), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
