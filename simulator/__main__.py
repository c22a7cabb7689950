"""``supervision simulate {generate,advance,defects}`` (or ``python -m simulator``): the simulator's own
command line, mounted by the product's ``supervision`` command. Paths default to ``$SUPERVISION_HOME``'s landing
and ground truth."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from include.cli.options import add_defects_option, add_world_options

    ap = argparse.ArgumentParser(prog="supervision simulate", description="the simulated regulated universe")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("generate", "advance"):
        p = sub.add_parser(name)
        add_world_options(p)
        p.add_argument("--landing", type=Path)
        p.add_argument("--ground-truth", type=Path)
        add_defects_option(p)
        p.add_argument("--no-external", action="store_true", help="do not write the external feeds")
    sub.add_parser("defects", help="print the defect catalogue")
    args = ap.parse_args(argv)
    if args.cmd == "defects":
        from simulator.defects import catalogue_frame

        print(catalogue_frame().to_string(index=False))
        return 0
    import simulator as simulate

    if args.landing is None or args.ground_truth is None:
        from include.config import paths

        p = paths()
        args.landing = args.landing or p.landing
        args.ground_truth = args.ground_truth or p.ground_truth
    defects = args.defects
    if defects not in (None, "none", "default", "all"):
        defects = float(defects)
    fn = simulate.generate if args.cmd == "generate" else simulate.advance
    summary = fn(args.landing, args.ground_truth, args.preset, args.seed, defects=defects,
                 external=False if args.no_external else None)
    print(json.dumps(summary, indent=2, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
