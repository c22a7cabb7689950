"""Run the product on the outside generator's transfers and score its flow queue against the labels (#12).

For each CSV (written by ``generate.py``; its ``.labels.csv`` beside it): a fresh ``SUPERVISION_HOME`` under
/tmp, then the CLI as a user would run it (``up``; ``import transactions FILE --account-map``; ``institutions
admit`` the banks; ``run ingest_submissions``; ``dbt -- build --select +flow_alerts --indirect-selection
cautious``: the flow models, what they depend on, and the tests of those models only), then the ranked queue
(``marts_flows.flow_alerts``) and every scored account-month (``intermediate.int_flows__account_scores``) are
read as the warehouse owner, the product's account tokens are mapped back to the file's accounts with the
product's own HMAC (``include.privacy.pseudonymise.token`` of ``include.flows.identifiers.account_no_for``),
and recall per pattern and role is computed at the queue's volume and at the top 1% / 5% of account-months,
for the detector, the plain rule "most distinct senders in 30 days" at equal volume, and chance
(``metrics.py``). ``down`` always runs; the state directory is deleted unless ``--keep-home``.

    python -m bench.outside.evaluate /tmp/x/s1.csv /tmp/x/s2.csv --json /tmp/x/results.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WINDOW_MONTHS = 3                # dbt var flow_window_months (the trailing window an alert looks at)
CAPACITY_PER_BANK = 5            # dbt var flow_alert_capacity, applied per bank-month for the "own bureau" view


class StepFailed(RuntimeError):
    pass


def _cli(home: Path, *args: str, timeout: int = 7200) -> float:
    env = {**os.environ, "SUPERVISION_HOME": str(home), "PYTHONPATH": str(REPO)}
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "include.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stdout[-1500:] + proc.stderr[-1500:]).strip().splitlines()
        raise StepFailed(f"supervision {' '.join(args[:3])} exited {proc.returncode}: {' | '.join(tail[-6:])}")
    return time.perf_counter() - t


def run_product(csv_path: Path, home: Path) -> dict:
    """The CLI steps; return the seconds of each."""
    import csv

    banks = set()
    with csv_path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            banks.update((row["sender_institution_code"], row["receiver_institution_code"]))
    times = {"up": _cli(home, "up")}
    times["import"] = _cli(home, "import", "transactions", str(csv_path), "--account-map", str(home / "map.csv"))
    times["admit"] = _cli(home, "institutions", "admit", *sorted(banks), "--note", "outside benchmark (#12)")
    times["ingest"] = _cli(home, "run", "ingest_submissions")
    times["dbt_build"] = _cli(home, "dbt", "--", "build", "--select", "+flow_alerts",
                             "--indirect-selection", "cautious", "--quiet")
    return times


# with each account's first month (account_windows reads it; a state built before it has no such table)
FLOW_MODELS = ("int_flows__account_first_seen", "int_flows__account_windows", "int_flows__account_scores",
               "flow_alerts")


def rebuild_flows(home: Path) -> dict:
    """Re-score a kept state directory with this checkout's flow models (full refresh of the flow models only)."""
    times = {"up": _cli(home, "up")}
    times["dbt_build"] = _cli(home, "dbt", "--", "build", "--select", *FLOW_MODELS, "--full-refresh",
                             "--indirect-selection", "cautious", "--quiet")
    return times


def read_product(home: Path, accounts: list[str]) -> dict:
    """Scores, queue and batch outcomes, keyed by the file's account text."""
    import psycopg

    os.environ["SUPERVISION_HOME"] = str(home)
    from include.config import StatePaths
    from include.flows.identifiers import account_no_for
    from include.privacy.pseudonymise import load_key, token
    from include.warehouse.connection import admin_url, libpq_url

    state = StatePaths(home)
    key = load_key(state)
    back = {token(account_no_for(a), "account", key): a for a in accounts}
    with psycopg.connect(libpq_url(admin_url(state))) as conn:
        scores = conn.execute("select account_no, period, flow_score, is_eligible, institution_code, top_typology "
                              "from intermediate.int_flows__account_scores").fetchall()
        queue = conn.execute("select account_no, period, top_typology, bureau_code from marts_flows.flow_alerts"
                             ).fetchall()
        batches = dict(conn.execute("select status, count(*) from ops.batch group by status").fetchall())
        n_txn = conn.execute("select count(*) from raw.transaction").fetchone()[0]
    unmapped = sum(1 for r in scores if r[0] not in back)
    return {"scores": {(back.get(r[0], r[0]), r[1]): float(r[2] or 0) for r in scores},
            "eligible": {(back.get(r[0], r[0]), r[1]): (r[4], bool(r[3])) for r in scores},
            "typology": {(back.get(r[0], r[0]), r[1]): r[5] for r in scores},
            "queue": {(back.get(r[0], r[0]), r[1]) for r in queue},
            "queue_bureaus": sorted({str(r[3]) for r in queue}), "batches": batches, "raw_transactions": n_txn,
            "unmapped_scored": unmapped}


def bank_queue(eligible: dict, scores: dict) -> set:
    """The queue if every bank were under a bureau of its own: CAPACITY_PER_BANK best eligible per bank-month."""
    by: dict = {}
    for k, (inst, ok) in eligible.items():
        if ok:
            by.setdefault((inst, k[1]), []).append(k)
    return {k for ks in by.values() for k in sorted(ks, key=lambda k: (-scores[k], k))[:CAPACITY_PER_BANK]}


def score_seed(csv_path: Path, product: dict) -> dict:
    from bench.outside import metrics

    stem = csv_path.with_suffix("")
    members = metrics.read_members(Path(f"{stem}.labels.csv"), WINDOW_MONTHS)
    with Path(f"{stem}.accounts.csv").open(encoding="utf-8") as f:
        import csv

        holders = {r["account"]: (r["type"], r["sector"]) for r in csv.DictReader(f)}
    sectors = {a: h[1] for a, h in holders.items()}
    plain = metrics.plain_rule_counts(csv_path)
    scores = product["scores"]
    universe = set(scores)
    n = len(universe)
    selections = {"queue": product["queue"], "bank_queue": bank_queue(product["eligible"], scores)}
    volumes = {"queue": len(selections["queue"]), "bank_queue": len(selections["bank_queue"]),
               "top1": math.ceil(0.01 * n), "top5": math.ceil(0.05 * n)}
    selections["top1"] = metrics.top(scores, volumes["top1"])
    selections["top5"] = metrics.top(scores, volumes["top5"])
    out: dict = {"scored_account_months": n, "volumes": volumes, "members": len(members), "detector": {},
                 "plain": {}, "chance": {}, "plain_k_at_cut": {}}
    for name, sel in selections.items():
        out["detector"][name] = metrics.evaluate(members, sel)
        psel = metrics.top({k: float(v) for k, v in plain.items()}, volumes[name])
        out["plain"][name] = metrics.evaluate(members, psel)
        out["plain_k_at_cut"][name] = min((plain[k] for k in psel), default=0)
        out["chance"][name] = metrics.evaluate_chance(members, universe, volumes[name])
    out["members_detail"] = member_detail(members, scores, product["typology"], plain, holders)
    laundering = {m["account"] for m in members}
    for name in ("queue", "bank_queue", "top1"):
        sel = selections[name]
        out.setdefault("what_fills", {})[name] = Counter(
            "laundering" if a in laundering else sectors.get(a, "unknown") for a, _ in sel).most_common()
        out.setdefault("typologies", {})[name] = Counter(product["typology"].get(k) for k in sel).most_common()
    return out


def member_detail(members: list[dict], scores: dict, typology: dict, plain: dict, holders: dict) -> list[dict]:
    """Where each member's best account-month ranks among all scored ones (0 = the top), and why."""
    order = sorted(scores, key=lambda k: -scores[k])
    rank = {k: i / len(order) for i, k in enumerate(order)}
    rows = []
    for m in members:
        mine = [k for k in m["months"] if k in rank]
        best = min(mine, key=rank.get) if mine else None
        rows.append({"pattern": m["pattern"], "role": m["role"], "holder": holders.get(m["account"], ("?", "?")),
                     "best_rank": rank[best] if best else None, "typology": typology.get(best) if best else None,
                     "score": scores[best] if best else None,
                     "senders_30d": max((plain.get(k, 0) for k in m["months"]), default=0)})
    return rows


def _jsonable(o):
    if isinstance(o, dict):
        return {("/".join(map(str, k)) if isinstance(k, tuple) else str(k)): _jsonable(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_jsonable(v) for v in o]
    return o


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.outside.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", type=Path, nargs="+", help="transfer CSVs written by generate.py")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--keep-home", action="store_true", help="keep each run's SUPERVISION_HOME")
    parser.add_argument("--rescore", type=Path, metavar="HOME",
                        help="a state directory kept by an earlier run of the same (one) CSV: rebuild only the flow "
                             "models with this checkout's code and score them (the directory is kept)")
    args = parser.parse_args(argv)
    if args.rescore and (len(args.csv) != 1 or not (args.rescore / "map.csv").is_file()):
        print(f"{args.rescore}: --rescore takes one CSV and a state directory kept by an earlier run of it",
              file=sys.stderr)
        return 2
    for p in args.csv:
        if not p.is_file() or not Path(f"{p.with_suffix('')}.labels.csv").is_file():
            print(f"{p}: no such transfers file with its .labels.csv beside it", file=sys.stderr)
            return 2
    from bench.outside.report import render

    results = {}
    for p in args.csv:
        home = args.rescore or Path(tempfile.mkdtemp(prefix="sv-outside-"))
        os.chmod(home, 0o700)
        ok = False
        try:
            times = rebuild_flows(home) if args.rescore else run_product(p, home)
            import csv

            with p.open(encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            accounts = sorted({r["sender_account"] for r in rows} | {r["receiver_account"] for r in rows})
            product = read_product(home, accounts)
            res = score_seed(p, product)
            res.update(times=times, transfers=len(rows), accounts=len(accounts), batches=product["batches"],
                       raw_transactions=product["raw_transactions"], unmapped_scored=product["unmapped_scored"],
                       queue_bureaus=product["queue_bureaus"])
            results[p.name] = res
            print(render(p.name, res), flush=True)
            ok = True
        except (StepFailed, subprocess.TimeoutExpired) as e:
            print(f"{p}: {e} (state kept in {home})", file=sys.stderr)
            return 2
        finally:
            try:
                _cli(home, "down", timeout=300)
            except (StepFailed, subprocess.TimeoutExpired) as e:
                print(f"{home}: could not stop the warehouse: {e}", file=sys.stderr)
            if ok and not args.keep_home and not args.rescore:
                shutil.rmtree(home, ignore_errors=True)
    if args.json:
        fd = os.open(args.json, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(_jsonable(results), f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
