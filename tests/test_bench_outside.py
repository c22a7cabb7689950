"""The outside flow benchmark (#12, ``bench/outside``): the generator writes a file the importer accepts
whole, its labels agree with its laundering transfers, and the scoring arithmetic is right."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date

from bench.outside import generate, metrics
from bench.outside.patterns import KINDS
from include.flows.importer import read_plan


def test_generated_file_is_importable_and_labels_match(tmp_path):
    out = tmp_path / "w.csv"
    assert generate.main(["--seed", "3", "--accounts", "1500", "--months", "2", "--start", "2025-03-01",
                          "--patterns-per-type", "2", "--out", str(out)]) == 0
    plan, errors = read_plan(out, "utf-8", None, None)
    assert errors == []
    assert {p for _, p in plan.transactions} == {date(2025, 3, 31), date(2025, 4, 30)}
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    labels = list(csv.DictReader((tmp_path / "w.labels.csv").open(encoding="utf-8")))
    with (tmp_path / "w.laundering.csv").open(encoding="utf-8") as f:
        laundering = {r["txn_id"]: r["pattern_id"] for r in csv.DictReader(f)}
    assert Counter(r["pattern"] for r in labels if r["role"] in ("collector", "distributor"))["fan_in"] == 2
    assert {r["pattern"] for r in labels} == set(KINDS)
    members = {(r["account"], r["pattern_id"]) for r in labels}
    for r in rows:  # every laundering transfer is between two members of its pattern
        if r["txn_id"] in laundering:
            pid = laundering[r["txn_id"]]
            assert (r["sender_account"], pid) in members and (r["receiver_account"], pid) in members
    amounts = [float(r["amount"]) for r in rows]
    assert sum(a == round(a) for a in amounts) < 0.05 * len(amounts)  # log-normal, not rounded
    assert Counter(r["purpose"] for r in rows).most_common(1)[0][0] == ""
    assert oct((tmp_path / "w.labels.csv").stat().st_mode & 0o777) == "0o600"


def test_plain_rule_and_chance_arithmetic(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("sender_account,receiver_account,amount,timestamp\n"
                 "A,R,1,2025-01-01 10:00:00\nB,R,1,2025-01-20 10:00:00\nA,R,1,2025-01-25 10:00:00\n"
                 "C,R,1,2025-02-25 10:00:00\nD,R,1,2025-02-26 10:00:00\n", encoding="utf-8")
    counts = metrics.plain_rule_counts(f)
    # January: A and B within 30 days; February: C and D (A's last inflow is 31 days before C's)
    assert counts == {("R", date(2025, 1, 31)): 2, ("R", date(2025, 2, 28)): 2}
    assert abs(metrics.chance_found(10, 1, 3) - 0.3) < 1e-12
    assert abs(metrics.chance_found(10, 2, 3) - (1 - 56 / 120)) < 1e-12
    assert metrics.chance_found(4, 3, 2) == 1.0 and metrics.chance_found(4, 0, 2) == 0.0
    members = [{"pattern": "fan_in", "role": "collector", "months": [("R", date(2025, 1, 31))]},
               {"pattern": "cycle", "role": "intermediary", "months": [("S", date(2025, 1, 31))]}]
    res = metrics.evaluate(members, {("R", date(2025, 1, 31)), ("X", date(2025, 1, 31))})
    assert res["recall"][("fan_in", "collector")] == 1.0 and res["recall"][("all", "all")] == 0.5
    assert res["precision"] == 0.5
