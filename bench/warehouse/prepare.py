"""Prepare a warehouse for evaluation or benchmarking: start the embedded server of $SUPERVISION_HOME,
simulate a preset and seed into its landing zone, and ingest every pending submission (the loader's
own entry point, without Airflow, so the timing is the loader's).

    SUPERVISION_HOME=/work/state-x python -m bench.warehouse.prepare --preset small --seed 7
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

log = logging.getLogger(__name__)


def ingest_pending() -> dict:
    from include.config import paths
    from include.ingest.loader import ingest_manifests, pending_manifests
    from include.warehouse.connection import role_url

    url = role_url("loader")
    t = time.perf_counter()
    manifests = pending_manifests(url, paths().landing)
    outcomes = ingest_manifests(url, manifests, paths())
    return {"manifests": len(manifests), "batches": len(outcomes), "seconds": round(time.perf_counter() - t, 1)}


def preset_with(name: str, overrides: list[str]):
    """The named preset with ``KNOB=VALUE`` overrides (values typed like the knob's default)."""
    import dataclasses

    from simulator.presets import get_preset

    preset = get_preset(name)
    changes = {}
    for item in overrides:
        key, _, value = item.partition("=")
        if key not in {f.name for f in dataclasses.fields(preset)} or key == "name":
            raise SystemExit(f"error: --set {item}: unknown preset knob {key!r}")
        try:
            if key == "disguise_tricks":
                changes[key] = tuple((t, float(v)) for t, _, v in (x.partition(":") for x in value.split(",")))
            else:
                changes[key] = type(getattr(preset, key))(value)
        except ValueError:
            raise SystemExit(f"error: --set {item}: not a valid value for {key}") from None
    return dataclasses.replace(preset, **changes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--preset", default="small")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE",
                    help="override a Preset knob, e.g. disguise_share=0.5 or "
                         "disguise_tricks=neutral_purpose:1,odd_amounts:0.7 (repeatable)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    import simulator as simulate
    from include.config import paths
    from include.warehouse.bootstrap import bootstrap
    from include.warehouse.connection import ensure_up

    ensure_up()
    bootstrap()
    p = paths()
    t = time.perf_counter()
    preset = preset_with(args.preset, args.set)
    sim = simulate.generate(p.landing, p.ground_truth, preset=preset, seed=args.seed)
    out = {"simulate_seconds": round(time.perf_counter() - t, 1), "transactions": sim["rows"]["transaction"],
           "ingest": ingest_pending()}
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
