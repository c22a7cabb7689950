"""Time and memory of a simulator run, month by month (the figures in simulator/README.md, "Measured").

    python -m bench.simulate.run --preset large --seed 7 --out /tmp/sim-large [--set n_quarters=2 ...]

Builds the world, then writes it through ``write_world`` with a month hook that prints one JSON line per
month: seconds since start, RSS now and peak RSS so far (MiB), the month's transaction and loan rows. The
last line carries ``write_world``'s counts. ``--set knob=value`` overrides preset knobs (e.g. fewer
quarters to bound a run: ``n_quarters`` >= 2, and scale ``n_transactions``, a total over the run, to keep
the monthly volume). Delete ``--out`` afterwards: ``large`` writes ~7 GB.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import time
from pathlib import Path

from simulator import build_world, write_world
from simulator.presets import get_preset


def _rss_mib() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        return next(int(line.split()[1]) // 1024 for line in f if line.startswith("VmRSS:"))


def _peak_mib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="large")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, required=True, help="directory for landing/ and ground_truth/")
    ap.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE")
    args = ap.parse_args()
    p = get_preset(args.preset)
    knobs = dict(kv.split("=", 1) for kv in args.set)
    p = dataclasses.replace(p, **{k: (v.lower() == "true") if isinstance(getattr(p, k), bool) else
                                  type(getattr(p, k))(v) for k, v in knobs.items()})
    t0 = time.perf_counter()

    def log(**kw) -> None:
        print(json.dumps({"t": round(time.perf_counter() - t0, 1), "rss_mib": _rss_mib(), "peak_mib": _peak_mib(),
                          **kw}, default=str), flush=True)

    log(phase="start", preset=p.name, n_quarters=p.n_quarters, n_transactions=p.n_transactions)
    world = build_world(p, args.seed)
    log(phase="built", frames={k: len(v) for k, v in world.frames.items()})

    def hook(w, m, frames):
        log(phase="month", month=w.months[m].isoformat(), transactions=len(frames.get("transaction", ())),
            loans=len(frames.get("loan", ())))
        return frames

    counts = write_world(world, args.out / "landing", args.out / "ground_truth", month_hook=hook)
    counts.pop("written")
    log(phase="written", **counts)


if __name__ == "__main__":
    main()
