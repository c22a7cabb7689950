"""Build time of the flow models, two checkouts back to back on the same warehouse (#12, #17 item 4).

On a state directory already built once (``SUPERVISION_HOME``, server up or not), for each checkout in turn
(``--before`` then ``--after``, repeated ``--rounds`` times): ``dbt run --full-refresh`` of the three models
this round changes (``int_flows__account_windows``, ``int_flows__account_scores``, ``flow_alerts``); with
``--advance PRESET:SEED``, one more month is first simulated and ingested and the upstream flow models
(``int_flows__counterparty_months``, ``int_flows__account_inflow_timing`` and their staging) built once,
then each checkout's incremental month is timed as: full refresh, delete the newest month's rows from
``int_flows__account_windows`` and ``int_flows__account_scores`` (the state before the month arrived, as
built by that checkout), incremental ``dbt run``. Per-model seconds come from dbt's ``run_results.json``.

    SUPERVISION_HOME=/tmp/x python -m bench.flows_build --before /work/main --after . --advance small:13 \
        --set n_schemes=24 ...      # the knobs the state was prepared with (advance rewrites the ground truth)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

MODELS = ("int_flows__account_windows", "int_flows__account_scores", "flow_alerts")
# built with them: account_windows reads each account's first month from it (branch build6), flow_alerts is a
# table over the incremental int_flows__alert_queue (branch incf14); a checkout without them only warns that the
# name selects nothing
SELECT = (*MODELS, "int_flows__account_first_seen", "int_flows__alert_queue")
UPSTREAM = ("+int_flows__counterparty_months", "+int_flows__account_inflow_timing")


def _dbt(checkout: Path, *args: str) -> dict:
    """Run ``supervision dbt -- ARGS`` with ``checkout``'s code; per-model seconds and the wall time."""
    home = Path(os.environ["SUPERVISION_HOME"])
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "include.cli", "dbt", "--", *args, "--quiet"], cwd=checkout,
                          env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        tail = (proc.stdout[-1200:] + proc.stderr[-1200:]).strip().splitlines()
        raise SystemExit(f"dbt {' '.join(args[:2])} in {checkout} exited {proc.returncode}: {' | '.join(tail[-4:])}")
    results = json.loads((home / "dbt_target" / "run_results.json").read_text(encoding="utf-8"))
    per_model = {r["unique_id"].rsplit(".", 1)[-1]: round(r["execution_time"], 1) for r in results["results"]}
    return {"wall": round(wall, 1), "models": per_model, "flow_models": round(sum(per_model.values()), 1)}


def _sql(statement: str) -> None:
    import psycopg

    from include.config import StatePaths
    from include.warehouse.connection import admin_url, libpq_url

    with psycopg.connect(libpq_url(admin_url(StatePaths(Path(os.environ["SUPERVISION_HOME"])))),
                         autocommit=True) as conn:
        conn.execute(statement)


def _advance(spec: str, knobs: list[str]) -> dict:
    from bench.warehouse.prepare import ingest_pending, preset_with
    from include.config import paths
    from simulator.advance import advance

    name, _, seed = spec.partition(":")
    p = paths()
    # the knobs the state was prepared with: advance rewrites the ground truth from the preset it is given
    summary = advance(p.landing, p.ground_truth, preset=preset_with(name, knobs), seed=int(seed or 7))
    return {"period": str(summary.get("period")), "transactions": summary["rows"].get("transaction", 0),
            "ingest": ingest_pending()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.flows_build", description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", type=Path, required=True, help="checkout of the code before")
    ap.add_argument("--after", type=Path, required=True, help="checkout of the code after")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--advance", metavar="PRESET:SEED", help="also time one incremental month")
    ap.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE",
                    help="the preset knobs the state was prepared with (bench.warehouse.prepare --set), repeatable")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if "SUPERVISION_HOME" not in os.environ:
        print("SUPERVISION_HOME: not set (a state directory built once)", file=sys.stderr)
        return 2
    sides = {"before": args.before.resolve(), "after": args.after.resolve()}
    out: dict = {"full": [], "incremental": []}
    for _ in range(args.rounds):
        for side, checkout in sides.items():
            out["full"].append({"side": side, **_dbt(checkout, "run", "--select", *SELECT, "--full-refresh")})
            print(side, "full", out["full"][-1]["flow_models"], flush=True)
    if args.advance:
        out["advance"] = _advance(args.advance, args.set)
        _dbt(sides["after"], "run", "--select", *UPSTREAM)
        for _ in range(args.rounds):
            for side, checkout in sides.items():
                _dbt(checkout, "run", "--select", *SELECT, "--full-refresh")
                for model in MODELS[:2]:
                    _sql(f"delete from intermediate.{model} "
                         f"where period = (select max(period) from intermediate.{model})")
                out["incremental"].append({"side": side, **_dbt(checkout, "run", "--select", *SELECT)})
                print(side, "incremental", out["incremental"][-1]["flow_models"], flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
