"""Seconds of each SQL statement dbt ran for some models, from dbt's debug log (``<state>/dbt_logs/dbt.log``):
which statement of an incremental model costs what (the compile-time look-ups, the temporary table, the
delete, the insert, the hooks).

    python -m bench.warehouse.statement_times /tmp/state/dbt_logs/dbt.log int_flows__counterparty_months \
        int_flows__account_windows --since 18:31:00

Prints, per model, its last run between --since and --until ( HH:MM:SS of the log's clock), one line per
statement: seconds, the status dbt logged (e.g. ``DELETE 0``) and the statement's first words.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

LINE = re.compile(r"^(?:\x1b\[0m)?(\d\d:\d\d:\d\d)\.\d+ \[\w+ *\] \[(Thread-\d+|MainThread)[^\]]*\]: (.*)$")
ON_NODE = re.compile(r"^On model\.[\w]+\.(\w+): /\* .*? \*/\s*(.*)$")
STATUS = re.compile(r"^SQL status: (.*) in ([0-9.]+) seconds$")


def statements(log: Path, models: set[str], since: str = "00:00:00",
               until: str = "99:99:99") -> dict[str, list[tuple[float, str, str]]]:
    """model -> [(seconds, status, first words of the statement)] of its last run in [`since`, `until`)."""
    out: dict[str, list[tuple[float, str, str]]] = {}
    current: dict[str, tuple[str, list[str]]] = {}  # thread -> (model, statement lines)
    reading: dict[str, bool] = {}
    for raw in log.read_text(encoding="utf-8", errors="replace").splitlines():
        m = LINE.match(raw)
        if not m:  # a continuation line of a statement
            for thread, on in reading.items():
                if on and current.get(thread):
                    current[thread][1].append(raw)
            continue
        clock, thread, text = m.groups()
        reading[thread] = False
        if not since <= clock < until:
            continue
        if text.startswith("Began running node model."):
            model = text.rsplit(".", 1)[-1]
            if model in models:
                out[model] = []
            continue
        node = ON_NODE.match(text)
        if node:
            current[thread] = (node.group(1), [node.group(2)])
            reading[thread] = True
            continue
        status = STATUS.match(text)
        if status and thread in current:
            model, lines = current.pop(thread)
            if model in out:
                words = " ".join(" ".join(lines).split())[:110]
                out[model].append((float(status.group(2)), status.group(1), words))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log", type=Path)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--since", default="00:00:00", help="HH:MM:SS: the first run of each model at or after it")
    ap.add_argument("--until", default="99:99:99", help="HH:MM:SS: only runs that began before it")
    ap.add_argument("--min-seconds", type=float, default=0.05, help="leave out faster statements")
    args = ap.parse_args(argv)
    for model, rows in statements(args.log, set(args.models), args.since, args.until).items():
        print(f"{model}: {sum(r[0] for r in rows):.2f} s in {len(rows)} statements")
        for seconds, status, words in rows:
            if seconds >= args.min_seconds:
                print(f"  {seconds:7.3f}  {status:<16} {words}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
