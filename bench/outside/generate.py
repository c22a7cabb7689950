"""An outside transaction generator for the suspicious-flow detector (issue #12): AMLworld-like, written from
the published descriptions of IBM's AMLworld and AMLSim without reading this repository's simulator or flow
models (see ``world.py`` and ``patterns.py`` for what it draws and why).

    python bench/outside/generate.py --seed 1 --accounts 20000 --months 6 --out /tmp/x/aml.csv

writes ``aml.csv`` in the format of ``supervision import transactions`` (README, "Bringing a bank's statement
export") and, beside it, what the product never sees:

* ``aml.labels.csv``: one row per laundering account and pattern: account, institution_code, pattern_id,
  pattern, role (collector / distributor / intermediary), first_time, last_time;
* ``aml.laundering.csv``: the txn_id and pattern_id of every laundering transfer;
* ``aml.accounts.csv``: every account with its holder type and sector (person, trader, landlord, mule, or a
  company sector such as utility, school, property_manager, merchant), to explain false positives.

Files are written 0600. Nothing here reads the warehouse.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from datetime import date
from pathlib import Path

COLUMNS = ("txn_id", "sender_account", "receiver_account", "amount", "timestamp", "purpose", "channel",
           "sender_institution_code", "receiver_institution_code", "sender_type", "receiver_type",
           "sender_birth_date", "receiver_birth_date")


def _writer(path: Path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    f = os.fdopen(fd, "w", encoding="utf-8", newline="")
    return f, csv.writer(f, lineterminator="\n")


def generate(seed: int, accounts: int, months: int, start: date, per_kind: int | None = None):
    """Draw the world; return it and the laundering labels."""
    import numpy as np

    from bench.outside.patterns import Launderer, fresh_needed, n_members, plan_patterns
    from bench.outside.world import SECTORS, World, background, build_population

    rng = np.random.default_rng(seed)
    per_kind = per_kind if per_kind is not None else max(1, round(10 * accounts / 20000))
    plans = plan_patterns(rng, per_kind)
    n_fresh = fresh_needed(plans)
    world = World(start, months)
    groups = build_population(rng, world, accounts - n_fresh)
    background(rng, world, groups)
    pools = {"people": groups["person"],
             "companies": np.concatenate([groups[s] for s in SECTORS if s not in ("utility", "school",
                                                                                "property_manager")])}
    launderer = Launderer(rng, world, pools, n_fresh, n_members(plans))
    launderer.run(plans)
    world.txns.sort(key=lambda t: t.ts)
    return world, launderer.labels


def write(world, labels: list[dict], out: Path) -> dict[str, Path]:
    stem = out.with_suffix("")
    files = {"transfers": out, "labels": Path(f"{stem}.labels.csv"), "laundering": Path(f"{stem}.laundering.csv"),
             "accounts": Path(f"{stem}.accounts.csv")}
    kind = {"个人": "individual", "对公": "corporate"}
    f, w = _writer(out)
    g, lw = _writer(files["laundering"])
    with f, g:
        w.writerow(COLUMNS)
        lw.writerow(("txn_id", "pattern_id"))
        for i, t in enumerate(world.txns, start=1):
            txn_id = f"T{i:09d}"
            births = [world.birth[a].isoformat() if world.birth[a] else "" for a in (t.src, t.dst)]
            w.writerow((txn_id, world.ids[t.src], world.ids[t.dst], f"{t.amount:.2f}",
                        t.ts.strftime("%Y-%m-%d %H:%M:%S"), t.purpose, t.channel, world.bank[t.src],
                        world.bank[t.dst], kind[world.kind[t.src]], kind[world.kind[t.dst]], *births))
            if t.pattern >= 0:
                lw.writerow((txn_id, t.pattern))
    f, w = _writer(files["labels"])
    with f:
        cols = ("account", "institution_code", "pattern_id", "pattern", "role", "first_time", "last_time")
        w.writerow(cols)
        for row in labels:
            w.writerow([row[c] for c in cols])
    f, w = _writer(files["accounts"])
    with f:
        w.writerow(("account", "institution_code", "type", "sector"))
        for a, text in enumerate(world.ids):
            w.writerow((text, world.bank[a], kind[world.kind[a]], world.sector[a]))
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/outside/generate.py",
                                     description="AMLworld-like transfers in the import CSV format, labels apart.")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1), help="first day (YYYY-MM-01)")
    parser.add_argument("--patterns-per-type", type=int, help="default: 10 per 20,000 accounts")
    parser.add_argument("--out", type=Path, required=True, help="the transfers CSV; labels are written beside it")
    args = parser.parse_args(argv)
    if args.accounts < 1000 or not 1 <= args.months <= 24 or args.start.day != 1:
        print("--accounts must be >= 1000, --months 1..24, --start the first of a month", file=sys.stderr)
        return 2
    if not args.out.parent.is_dir():
        print(f"{args.out.parent}: no such directory", file=sys.stderr)
        return 2
    world, labels = generate(args.seed, args.accounts, args.months, args.start, args.patterns_per_type)
    files = write(world, labels, args.out)
    n_laund = sum(1 for t in world.txns if t.pattern >= 0)
    used = len({a for t in world.txns for a in (t.src, t.dst)})
    print(f"{len(world.txns)} transfers ({n_laund} laundering, {len({r['pattern_id'] for r in labels})} patterns), "
          f"{used} accounts active of {len(world.ids)}, {len({r['account'] for r in labels})} laundering accounts "
          f"-> {files['transfers']} (+ .labels/.laundering/.accounts.csv)")
    return 0


if __name__ == "__main__":
    if __package__ in (None, ""):        # run as a script: make the repository importable
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    raise SystemExit(main())
