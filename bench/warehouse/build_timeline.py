"""Where the wall time of a `dbt build` goes: node intervals from the Cosmos producer's task log (#17 item 4).

The producer of ``build_warehouse`` runs dbt with ``--no-write-json`` (include/cosmos_dbt.py), so there is no
``run_results.json``; its Airflow task log carries dbt's ``N of M START ...`` and ``N of M OK/PASS ...`` lines with
timestamps. This prints the build's span, the seconds during which 0, 1 or 2+ nodes were running (with dbt's
threads on a chain of models, one node runs most of the time) and every node longer than ``--min`` seconds.

    python -m bench.warehouse.build_timeline \
        "$SUPERVISION_HOME/airflow/logs/dag_id=build_warehouse/run_id=.../task_id=dbt.dbt_producer_watcher/attempt=1.log"
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import datetime
from pathlib import Path

LINE = re.compile(r"(\d+) of \d+ (START|OK|PASS|FAIL|WARN|ERROR|SKIP)\s+(.*)")
NOISE = {"sql", "table", "view", "incremental", "model", "test", "unit_test", "seed", "snapshot", "created"}


def intervals(log: Path) -> list[tuple[float, float, str]]:
    """(start, end, node) in seconds from the first start, for every node with both lines in the log."""
    starts: dict[int, tuple[float, str]] = {}
    ends: dict[int, float] = {}
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        m = LINE.search(str(event.get("event", "")))
        if not m:
            continue
        t = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")).timestamp()
        n = int(m.group(1))
        if m.group(2) == "START":
            starts[n] = (t, next((w for w in m.group(3).split() if w not in NOISE), "?"))
        else:
            ends[n] = t
    if not starts:
        return []
    t0 = min(t for t, _ in starts.values())
    return sorted((t - t0, ends[n] - t0, name) for n, (t, name) in starts.items() if n in ends)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.warehouse.build_timeline", description=__doc__.split("\n\n")[0])
    ap.add_argument("log", type=Path, help="the producer task's log (task_id=dbt.dbt_producer_watcher)")
    ap.add_argument("--min", type=float, default=3.0, help="list nodes longer than this many seconds")
    args = ap.parse_args(argv)
    iv = intervals(args.log)
    if not iv:
        print(f"{args.log}: no dbt node lines")
        return 1
    points = sorted([(a, 1) for a, _, _ in iv] + [(b, -1) for _, b, _ in iv])
    running, last, busy = 0, 0.0, {0: 0.0, 1: 0.0, 2: 0.0}
    for t, step in points:
        busy[min(running, 2)] += t - last
        running, last = running + step, t
    print(f"span {last:.1f} s, {len(iv)} nodes; seconds with 0 / 1 / 2+ nodes running: "
          f"{busy[0]:.1f} / {busy[1]:.1f} / {busy[2]:.1f}")
    for a, b, name in iv:
        if b - a >= args.min:
            print(f"{a:7.1f} {b:7.1f} {b - a:6.1f}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
