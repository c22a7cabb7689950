"""One more month on an existing benchmark state, timed: advance the landing zone of $SUPERVISION_HOME by a
month, ingest it and run one incremental `dbt run` (bench_warehouse's own steps). For A/B comparisons of two
copies of one state, each built with its own code: run it from each checkout with the same arguments; the
printed `landing_digest` (sha256 over every manifest of the landing zone) must be the same in both.

    SUPERVISION_HOME=/tmp/copy-a python -m bench.warehouse.next_month --preset small --seed 20548 --history-factor 4

Prints one JSON document: the advance (months, transactions, ingest), the landing digest, the build's seconds,
dbt's seconds per model, and the seconds of each statement of the flow chain's models (dbt's debug log).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time

FLOW_CHAIN = ("int_flows__counterparty_months", "int_flows__account_inflow_timing", "int_flows__account_first_seen",
              "int_flows__account_windows", "int_flows__account_scores", "account_month_training")


def landing_digest(landing) -> str:
    """sha256 over the relative paths and contents of every manifest.json of the landing zone."""
    h = hashlib.sha256()
    for manifest in sorted(landing.rglob("manifest.json")):
        h.update(str(manifest.relative_to(landing)).encode())
        h.update(hashlib.sha256(manifest.read_bytes()).digest())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="small")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--history-factor", type=int, default=1, help="as given to bench_warehouse for this state")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")

    from bench.warehouse.bench_warehouse import NODE_TIMES, _advance, _timed_dbt, bench_preset
    from bench.warehouse.statement_times import statements
    from include.config import paths
    from include.warehouse.connection import ensure_up

    ensure_up()
    p = paths()
    out: dict = {"advance": _advance(bench_preset(args.preset, args.history_factor), args.seed, 1),
                 "landing_digest": landing_digest(p.landing)}
    since = time.strftime("%H:%M:%S", time.gmtime())
    out["incremental_seconds"] = _timed_dbt(["run"], "incremental")
    out["node_seconds"] = {m: NODE_TIMES["incremental"].get(m) for m in FLOW_CHAIN}
    out["all_node_seconds"] = NODE_TIMES["incremental"]
    out["statements"] = {model: [[s, status, words] for s, status, words in rows if s >= 0.05]
                         for model, rows in statements(p.dbt_logs / "dbt.log", set(FLOW_CHAIN), since).items()}
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
