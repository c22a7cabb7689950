"""Evaluate the external signals the pipeline wrote against the simulator's hidden labels.

Evaluation code, not pipeline code: it is the only place that reads the ground truth. Run after a
demo (or `cli run`) has loaded the feeds of a simulated world:

    SUPERVISION_HOME=... python bench/external/evaluate.py [--json out.json]

Figures (over the items the pipeline loaded and scored; quarantined items are not scored):

* news negative tone: precision / recall / F1 of ``tone = 'negative'`` against the label ``negative``,
  and the false-positive rate on the hard cases (denials, risk words in another sense);
* news entity links: precision / recall of (news_id, entity_type, entity_id, start) against the labelled
  mentions, overall, for the labelled-ambiguous mentions, and counting only links not ``unresolved``;
* advert leads: precision / recall of ``illegal_promo``, and of the advertiser link (lead -> entity id)
  against the labelled link.
* extraction: requests, retries, records, loaded, quarantined from ``ops.ext_fetch``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg  # noqa: E402

from include.config import paths  # noqa: E402
from include.warehouse.connection import admin_url, libpq_url  # noqa: E402


def prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f1 = 2 * p * r / (p + r) if p and r else None
    return {"precision": _r(p), "recall": _r(r), "f1": _r(f1), "tp": tp, "fp": fp, "fn": fn}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _true(v: str) -> bool:
    return v.strip().lower() in ("true", "1", "t", "yes")


def evaluate(conn: psycopg.Connection, gt: Path) -> dict:
    labels = {r["news_id"]: r for r in _csv(gt / "external_news_labels.csv")}
    tones = dict(conn.execute("select news_id, tone from raw_ext.news_tone").fetchall())
    scored = [n for n in tones if n in labels]
    tp = sum(tones[n] == "negative" and labels[n]["tone"] == "negative" for n in scored)
    fp = sum(tones[n] == "negative" and labels[n]["tone"] != "negative" for n in scored)
    fn = sum(tones[n] != "negative" and labels[n]["tone"] == "negative" for n in scored)
    hard = Counter(labels[n]["hard_case"] for n in scored if labels[n]["hard_case"])
    hard_fp = Counter(labels[n]["hard_case"] for n in scored
                      if labels[n]["hard_case"] and tones[n] == "negative" and labels[n]["tone"] != "negative")
    out: dict = {"news_tone": {"items_scored": len(scored), "negative_labelled": tp + fn, **prf(tp, fp, fn),
                               "hard_cases": {k: {"n": v, "flagged_negative": hard_fp.get(k, 0)}
                                              for k, v in hard.items()}}}

    scored_set = set(scored)
    gold_rows = [m for m in _csv(gt / "external_news_mentions.csv") if m["news_id"] in scored_set]
    gold = {(m["news_id"], m["entity_type"], m["entity_id"], int(m["start"])) for m in gold_rows}
    gold_amb = {(m["news_id"], m["entity_type"], m["entity_id"], int(m["start"])) for m in gold_rows
                if _true(m["ambiguous"])}
    rows = conn.execute("select news_id, entity_type, entity_id, start_pos, resolution from raw_ext.news_entity_link"
                        ).fetchall()
    pred = {(n, t, e, s) for n, t, e, s, _ in rows if n in scored_set}
    resolved = {(n, t, e, s) for n, t, e, s, how in rows if n in scored_set and how != "unresolved"}
    amb_pred = {k for k in pred if (k[0], k[3]) in {(g[0], g[3]) for g in gold_amb}}
    out["news_entity_links"] = {
        "mentions_labelled": len(gold), "links_written": len(pred),
        "all": prf(len(gold & pred), len(pred - gold), len(gold - pred)),
        "resolved_only": prf(len(gold & resolved), len(resolved - gold), len(gold - resolved)),
        "ambiguous_mentions": prf(len(gold_amb & amb_pred), len(amb_pred - gold_amb), len(gold_amb - amb_pred)),
        "by_resolution": dict(Counter(how for *_, how in rows)),
    }

    ads = {r["lead_id"]: r for r in _csv(gt / "external_advert_labels.csv")}
    flags = {r[0]: r[1:] for r in conn.execute(
        "select lead_id, illegal_promo, linked_entity_type, linked_entity_id, link_method "
        "from raw_ext.advert_lead_flag")}
    leads = [lid for lid in flags if lid in ads]
    tp = sum(flags[i][0] and _true(ads[i]["is_illegal_fundraising_promo"]) for i in leads)
    fp = sum(flags[i][0] and not _true(ads[i]["is_illegal_fundraising_promo"]) for i in leads)
    fn = sum(not flags[i][0] and _true(ads[i]["is_illegal_fundraising_promo"]) for i in leads)
    ltp = sum(bool(ads[i]["linked_id"]) and flags[i][2] == ads[i]["linked_id"] for i in leads)
    lfp = sum(flags[i][2] is not None and flags[i][2] != ads[i]["linked_id"] for i in leads)
    lfn = sum(bool(ads[i]["linked_id"]) and flags[i][2] != ads[i]["linked_id"] for i in leads)
    by_form = Counter()
    ok_form = Counter()
    for i in leads:
        form = ads[i]["advertiser_form"]
        by_form[form] += 1
        ok_form[form] += (flags[i][2] or "") == ads[i]["linked_id"]
    out["advert_leads"] = {"leads_scored": len(leads), "illegal_flag": prf(tp, fp, fn),
                           "advertiser_link": prf(ltp, lfp, lfn),
                           "link_correct_by_advertiser_form": {f: f"{ok_form[f]}/{n}" for f, n in by_form.items()}}

    out["extraction"] = dict(zip(
        ("fetches", "failed", "requests", "retries", "records", "loaded", "unchanged", "quarantined"),
        conn.execute("select count(*), count(*) filter (where status = 'failed'), sum(requests), sum(retries), "
                     "sum(records), sum(loaded), sum(unchanged), sum(quarantined) from ops.ext_fetch").fetchone(),
        strict=True))
    out["extraction"] = {k: int(v or 0) for k, v in out["extraction"].items()}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    with psycopg.connect(libpq_url(admin_url())) as conn:
        figures = evaluate(conn, paths().ground_truth)
    text = json.dumps(figures, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
