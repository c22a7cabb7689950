"""Warehouse build benchmark: full build, incremental build after one more month, and the incremental
build again once the warehouse holds `--history-factor` times more history.

    SUPERVISION_HOME=/work/state-x python -m bench.warehouse.bench_warehouse --preset small --seed 7
    SUPERVISION_HOME=/work/state-y python -m bench.warehouse.bench_warehouse --preset tiny --seed 7 --history-factor 4

Steps (each timed; the build is `dbt run`, models only, seeds loaded before and outside the timing):
1. if the landing zone is empty: simulate the preset and ingest it (bench.warehouse.prepare);
2. full build: `dbt run --full-refresh`;
3. `simulate advance` one month, ingest it, incremental build: `dbt run`  -> ratio to the full build;
   (--skip-views: incremental builds exclude views, which hold no data and did not change);
4. with --history-factor F: advance until the landing zone holds F times the months of step 1, ingest,
   catch up (untimed), then advance one month, ingest, incremental build -> ratio to step 3.
Goals (issue #6): step 3 <= 25% of step 2; step 4 <= 1.3x step 3. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

log = logging.getLogger(__name__)


def _timed_dbt(args: list[str]) -> float:
    from include.cli.warehouse import _dbt

    t = time.perf_counter()
    _dbt(args)  # raises SystemExit with dbt's output if the build fails
    return round(time.perf_counter() - t, 1)


def _advance(preset: str, seed: int, months: int) -> dict:
    from bench.warehouse.prepare import ingest_pending
    from include.config import paths
    from simulator.advance import advance

    p = paths()
    t = time.perf_counter()
    rows = 0
    for _ in range(months):
        rows += advance(p.landing, p.ground_truth, preset=preset, seed=seed)["rows"].get("transaction", 0)
    sim = round(time.perf_counter() - t, 1)
    return {"months": months, "transactions": rows, "simulate_seconds": sim, "ingest": ingest_pending()}


def run(preset: str, seed: int, history_factor: int, skip_views: bool = False) -> dict:
    from bench.warehouse.prepare import ingest_pending
    from include.config import paths
    from include.warehouse.bootstrap import bootstrap
    from include.warehouse.connection import ensure_up
    from simulator.advance import landing_months

    ensure_up()
    bootstrap()
    p = paths()
    out: dict = {"preset": preset, "seed": seed, "skip_views": skip_views}
    # Views hold no data: an incremental build need not re-create unchanged ones (--skip-views).
    incremental = ["run", "--exclude", "config.materialized:view"] if skip_views else ["run"]
    if not landing_months(p.landing):
        import simulator as simulate

        t = time.perf_counter()
        simulate.generate(p.landing, p.ground_truth, preset=preset, seed=seed)
        out["simulate_seconds"] = round(time.perf_counter() - t, 1)
    out["ingest_initial"] = ingest_pending()
    base_months = len(landing_months(p.landing))
    out["months_initial"] = base_months
    _timed_dbt(["seed"])
    out["full_build_seconds"] = _timed_dbt(["run", "--full-refresh"])
    out["advance_1"] = _advance(preset, seed, 1)
    out["incremental_seconds"] = _timed_dbt(incremental)
    out["incremental_over_full"] = round(out["incremental_seconds"] / out["full_build_seconds"], 3)
    if history_factor > 1:
        more = history_factor * base_months - len(landing_months(p.landing))
        out["advance_history"] = _advance(preset, seed, more)
        out["catch_up_seconds"] = _timed_dbt(incremental)
        out["months_before_last_increment"] = len(landing_months(p.landing))
        out["advance_1_after_history"] = _advance(preset, seed, 1)
        out["incremental_after_history_seconds"] = _timed_dbt(incremental)
        out["history_incremental_over_incremental"] = round(
            out["incremental_after_history_seconds"] / out["incremental_seconds"], 3)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="small")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--history-factor", type=int, default=1)
    ap.add_argument("--skip-views", action="store_true", help="incremental builds leave unchanged views alone")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    json.dump(run(args.preset, args.seed, args.history_factor, args.skip_views), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
