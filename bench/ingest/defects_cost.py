"""What delivery defects cost the ingest (issue #17 item 5: "a defective batch costs about what a clean
one does").

The same world (preset, seed) is simulated once per defect level (``none``, ``default``, ``all``) into
a throw-away state directory with its own embedded PostgreSQL, and ingested by the pipeline's loader
(``ingest_manifests``, what the ``ingest`` DAG tasks call); each level prints files, batches by status,
seconds, seconds per file, and the ratio to the clean world's seconds per file (the median of the ``none``
runs: repeat the levels, e.g. ``none all none all``, and compare medians). Great Expectations is imported
and its context built once, before the first level, and not timed: it is the process's warm-up, not a
cost of any level (it made the first level in a process look 1.5x slower). Besides the seconds, each
level prints the CPU seconds of this process (``cpu_client``: the loader, its promotion thread and GX)
and of the server (``cpu_server``: the postmaster's backends and parallel workers, from /proc), which a
loaded machine disturbs far less than the wall clock. Nothing of the caller's state is touched.

    python -m bench.ingest.defects_cost --preset tiny --seed 7 --levels none default all
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path


def _server_cpu(pgdata: Path) -> float:
    """CPU seconds (user + system) of the server so far: the postmaster's own and its exited children's
    (reaped: ``cutime``, ``cstime``), and its live children's, from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])

    def fields(p: int | str) -> list[str]:
        stat = Path(f"/proc/{p}/stat").read_text()
        return stat[stat.rindex(")") + 2:].split()  # from field 3 (state) on: utime is field 14, i.e. [11]

    own = fields(pid)
    total = sum(int(x) for x in own[11:15])
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                f = fields(d.name)
            except (OSError, ValueError):
                continue  # gone meanwhile
            if f[1] == str(pid):
                total += int(f[11]) + int(f[12])
    return total / ticks


def one_level(preset: str, seed: int, level: str) -> dict:
    import simulator
    from include.config import StatePaths
    from include.ingest.loader import ingest_manifests, pending_manifests
    from include.warehouse.bootstrap import bootstrap
    from include.warehouse.connection import admin_url, libpq_url, role_url
    from include.warehouse.server import EmbeddedServer

    home = Path(tempfile.mkdtemp(prefix=f"sv-defects-{level}-"))
    old = os.environ.get("SUPERVISION_HOME")
    os.environ["SUPERVISION_HOME"] = str(home)
    state = StatePaths(home)
    server = EmbeddedServer(state)
    try:
        server.up()
        bootstrap(state)
        sim = simulator.generate(state.landing, state.ground_truth, preset=preset, seed=seed,
                                 defects=level)
        url = role_url("loader", state)
        server_cpu, client_cpu = _server_cpu(state.pgdata), time.process_time()
        t = time.perf_counter()
        manifests = pending_manifests(url, state.landing)
        ingest_manifests(url, manifests, state)
        secs = time.perf_counter() - t
        client_cpu, server_cpu = time.process_time() - client_cpu, _server_cpu(state.pgdata) - server_cpu
        import psycopg

        with psycopg.connect(libpq_url(admin_url(state))) as conn:
            by_status = dict(conn.execute("select status, count(*) from ops.batch group by 1 order by 1").fetchall())
        return {"defects": level, "planted": sum(sim.get("defects", {}).values()), "files": sim["files"],
                "batches": by_status, "seconds": round(secs, 1), "ms_per_file": round(1000 * secs / sim["files"], 1),
                "cpu_client": round(client_cpu, 2), "cpu_server": round(server_cpu, 2)}
    finally:
        server.down()
        if old is None:
            os.environ.pop("SUPERVISION_HOME", None)
        else:
            os.environ["SUPERVISION_HOME"] = old
        shutil.rmtree(home, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--levels", nargs="+", default=["none", "default", "all"])
    args = ap.parse_args(argv)
    from statistics import median

    from include.ingest.gx_runtime import _runtime

    t = time.perf_counter()
    _runtime()  # the process's warm-up, apart (see the module docstring)
    print(json.dumps({"gx_warm_up_seconds_not_counted": round(time.perf_counter() - t, 1)}), flush=True)
    rows = [one_level(args.preset, args.seed, lv) for lv in args.levels]
    clean = [r["ms_per_file"] for r in rows if r["defects"] == "none"]
    base = median(clean) if clean else None
    for r in rows:
        if base:
            r["vs_clean_per_file"] = round(r["ms_per_file"] / base, 2)
        print(json.dumps(r), flush=True)
    if base:
        levels = dict.fromkeys(r["defects"] for r in rows)
        print(json.dumps({"median_vs_clean_per_file": {
            lv: round(median(r["ms_per_file"] for r in rows if r["defects"] == lv) / base, 2) for lv in levels}}),
            flush=True)
        cpu = {lv: median(r["cpu_client"] + r["cpu_server"] for r in rows if r["defects"] == lv) for lv in levels}
        print(json.dumps({"median_cpu_seconds": {lv: round(v, 2) for lv, v in cpu.items()},
                          "median_cpu_vs_clean_per_file": {lv: round(v / cpu["none"], 2) for lv, v in cpu.items()}}),
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
