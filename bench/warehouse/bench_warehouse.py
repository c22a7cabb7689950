"""Warehouse build benchmark: full build, incremental build after one more month, and the incremental
build again once the warehouse holds `--history-factor` times more history.

    SUPERVISION_HOME=/work/state-x python -m bench.warehouse.bench_warehouse --preset small --seed 7
    SUPERVISION_HOME=/work/state-y python -m bench.warehouse.bench_warehouse --preset tiny --seed 7 --history-factor 4

Steps (each timed; the build is `dbt run`, models only, seeds loaded before and outside the timing):
1. if the landing zone is empty: simulate the preset and ingest it (bench.warehouse.prepare);
2. full build: `dbt run --full-refresh`;
3. `simulate advance` one month, ingest it, incremental build: `dbt run`  -> ratio to the full build;
   (an unchanged view is left alone anyway: macros/materializations/view.sql; --skip-views also skips the
   views' dbt nodes);
   then the same build again with nothing new, and the check build_warehouse makes first (skip: nothing
   the project reads changed; include/warehouse/fingerprint.py);
4. with --history-factor F: advance until the landing zone holds F times the preset's months, ingest,
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


NODE_TIMES: dict[str, dict[str, float]] = {}  # step -> model -> seconds (dbt's run_results.json)


def _timed_dbt(args: list[str], step: str | None = None) -> float:
    from include.cli.warehouse import _dbt
    from include.config import paths

    t = time.perf_counter()
    _dbt(args)  # raises SystemExit with dbt's output if the build fails
    seconds = round(time.perf_counter() - t, 1)
    if step:
        results = json.loads((paths().dbt_target / "run_results.json").read_text(encoding="utf-8"))["results"]
        NODE_TIMES[step] = {r["unique_id"].split(".")[-1]: round(r["execution_time"], 2) for r in results}
    return seconds


def growing_models(first: dict[str, float], later: dict[str, float], top: int = 12) -> list[dict]:
    """The models whose build time grew the most from one incremental build to a later one."""
    rows = [{"model": m, "incremental_seconds": first[m], "after_history_seconds": later[m],
             "grew_seconds": round(later[m] - first[m], 2)} for m in first.keys() & later.keys()]
    return sorted(rows, key=lambda r: -r["grew_seconds"])[:top]


def bench_preset(name: str, history_factor: int):
    """The named preset, ending early enough that ``history_factor`` times its months plus one end before
    today: the contract refuses periods in the future, so the history grows from an earlier start (whole
    quarters earlier: the preset's window is quarters)."""
    import dataclasses

    from simulator.presets import _add_months, get_preset

    preset = get_preset(name)
    if history_factor <= 1:
        return preset
    back = (history_factor - 1) * preset.n_months + 3
    return dataclasses.replace(preset, last_period=_add_months(preset.last_period, -back))


def _advance(preset, seed: int, months: int) -> dict:
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


def _skip_check() -> dict:
    """What build_warehouse's first task decides now, and how long it takes (nothing new: skip)."""
    import importlib.util

    import psycopg

    from include.config import paths
    from include.warehouse.connection import libpq_url, role_url

    if importlib.util.find_spec("include.warehouse.fingerprint") is None:  # benchmarking an older commit
        return {"available": False}
    from include.warehouse.fingerprint import fingerprint, inputs_changed, record_build

    with psycopg.connect(libpq_url(role_url("transformer")), autocommit=True) as conn:
        record_build(fingerprint(conn, paths().dbt_target / "manifest.json"))  # as if the DAG had just built
        t = time.perf_counter()
        changed = inputs_changed(conn)
        return {"seconds": round(time.perf_counter() - t, 2), "would_build": changed is not None}


def run(preset: str, seed: int, history_factor: int, skip_views: bool = False, nothing_new: bool = True) -> dict:
    from bench.warehouse.prepare import ingest_pending
    from include.config import paths
    from include.warehouse.bootstrap import bootstrap
    from include.warehouse.connection import ensure_up
    from simulator.advance import landing_months

    ensure_up()
    bootstrap()
    p = paths()
    out: dict = {"preset": preset, "seed": seed, "skip_views": skip_views}
    preset = bench_preset(preset, history_factor)
    out["last_period"] = preset.last_period.isoformat()
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
    out["full_build_seconds"] = _timed_dbt(["run", "--full-refresh"], "full")
    out["advance_1"] = _advance(preset, seed, 1)
    out["incremental_seconds"] = _timed_dbt(incremental, "incremental")
    out["incremental_over_full"] = round(out["incremental_seconds"] / out["full_build_seconds"], 3)
    if nothing_new:
        out["rerun_nothing_new_seconds"] = _timed_dbt(incremental, "rerun_nothing_new")
        out["skip_check"] = _skip_check()
    if history_factor > 1:
        # the preset's months, not the landing zone's: its prudential history adds quarter ends before them
        # (small: 45 month ends for 24 months), and F x 45 would advance past today
        more = history_factor * preset.n_months - (preset.n_months + out["advance_1"]["months"])
        out["advance_history"] = _advance(preset, seed, more)
        out["catch_up_seconds"] = _timed_dbt(incremental)
        out["months_before_last_increment"] = len(landing_months(p.landing))
        out["advance_1_after_history"] = _advance(preset, seed, 1)
        out["incremental_after_history_seconds"] = _timed_dbt(incremental, "incremental_after_history")
        out["history_incremental_over_incremental"] = round(
            out["incremental_after_history_seconds"] / out["incremental_seconds"], 3)
        out["growing_models"] = growing_models(NODE_TIMES["incremental"], NODE_TIMES["incremental_after_history"])
    out["node_seconds"] = NODE_TIMES
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
