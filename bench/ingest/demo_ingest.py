"""The demo's ingest, timed: a simulated landing zone ingested as the ``ingest_submissions`` DAG does it
(``discover_shards``, then ``ingest_shard`` per shard, one after the other as ``dag.test()`` runs mapped
tasks), into a fresh state directory with its own embedded PostgreSQL.

The landing zone is copied first (never touched), so the same input can be ingested again by other code
(before/after). Prints one JSON line: seconds (without the copy and the server start), seconds per
shard, batch statuses; ``--profile FILE`` writes a cProfile of the ingest. The state directory is
removed at the end unless ``--keep``.

    python -m include.cli simulate generate --preset small --seed 7 --defects default --no-external \\
        --landing /tmp/x/landing --ground-truth /tmp/x/gt
    python -m bench.ingest.demo_ingest --landing /tmp/x/landing --home /tmp/x/run
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path

_DUMP_SQL = {
    "batch": "select submission_id, dataset, file_name, status, loaded_rows, detail->>'reason' from ops.batch "
             "order by 1, 2",
    "dq_result": "select b.submission_id, b.dataset, r.rule_name, r.expectation_type, r.severity, r.success, "
                 "r.element_count, r.unexpected_count, r.examples from ops.dq_result r "
                 "join ops.batch b using (batch_id) order by 1, 2, 3",
}

#: the raw and quarantine tables of batches (partitioned parents, not their partitions)
_TABLES_SQL = ("select format('%I.%I', n.nspname, c.relname) from pg_class c "
               "join pg_namespace n on n.oid = c.relnamespace where n.nspname in ('raw', 'quarantine') "
               "and c.relkind in ('r', 'p') and not c.relispartition and exists (select 1 from pg_attribute a "
               "where a.attrelid = c.oid and a.attname = '_batch_id' and not a.attisdropped) order by 1")
#: every file's rows in raw or quarantine, as stored (tokens included; the batch id and load time depend on
#: the order of work and the clock): a digest per file, comparable across runs under the same
#: pseudonymisation key (set SUPERVISION_PSEUDONYM_KEY for both runs)
_ROWS_SQL = ("select b.submission_id, b.dataset, b.file_name, count(*), md5(string_agg((to_jsonb(t) - '_batch_id' "
             "- '_loaded_at' - '_quarantined_at')::text, E'\\n' order by t._line)) from {table} t "
             "join ops.batch b on b.batch_id = t._batch_id group by 1, 2, 3 order by 1, 2, 3")


def dump(conn, out: Path) -> dict:
    """Every batch's outcome and every rule result, keyed by submission and dataset (not by batch id, which
    depends on the order of work), one JSON line each, then a digest of each file's rows in raw and
    quarantine (:data:`_ROWS_SQL`): two runs on the same input compare with ``cmp``."""
    counts = {}
    with os.fdopen(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:  # masked examples
        for name, sql in _DUMP_SQL.items():
            rows = conn.execute(sql).fetchall()
            counts[name] = len(rows)
            for row in rows:
                f.write(json.dumps([name, *row], ensure_ascii=False, sort_keys=True, default=str) + "\n")
        counts["rows"] = 0
        for (table,) in conn.execute(_TABLES_SQL).fetchall():
            for row in conn.execute(_ROWS_SQL.format(table=table)).fetchall():
                counts["rows"] += row[3]
                f.write(json.dumps(["rows", table, *row], ensure_ascii=False, default=str) + "\n")
    return counts


def run(landing: Path, home: Path, profile: Path | None = None, dump_to: Path | None = None) -> dict:
    import cProfile

    import psycopg

    from include.config import StatePaths
    from include.ingest.pipeline import discover_shards, ingest_shard
    from include.warehouse.bootstrap import bootstrap
    from include.warehouse.connection import admin_url, libpq_url, role_url
    from include.warehouse.server import EmbeddedServer

    home.mkdir(mode=0o700, parents=True)
    os.environ["SUPERVISION_HOME"] = str(home)
    state = StatePaths(home)
    shutil.copytree(landing, state.landing)
    server = EmbeddedServer(state)
    try:
        server.up()
        bootstrap(state)
        url = role_url("loader", state)
        prof = cProfile.Profile() if profile else None
        t0 = time.perf_counter()
        if prof:
            prof.enable()
        shards = []
        for shard in discover_shards(url, state.landing):
            t = time.perf_counter()
            ingest_shard(url, shard, dag_run_id="bench", state=state)
            shards.append([len(shard), round(time.perf_counter() - t, 1)])
        if prof:
            prof.disable()
            prof.dump_stats(str(profile))
        seconds = time.perf_counter() - t0
        with psycopg.connect(libpq_url(admin_url(state))) as conn:
            statuses = dict(conn.execute("select status, count(*) from ops.batch group by 1 order by 1").fetchall())
            dumped = dump(conn, dump_to) if dump_to else None
        return {**({"dumped": dumped} if dumped else {}),
                "seconds": round(seconds, 1), "shards (submissions, seconds)": shards, "statuses": statuses,
                "load_average": [round(x, 1) for x in os.getloadavg()]}
    finally:
        server.down()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--landing", type=Path, required=True, help="a simulated landing zone (copied, not touched)")
    ap.add_argument("--home", type=Path, required=True, help="a new state directory (must not exist)")
    ap.add_argument("--profile", type=Path, default=None, help="write a cProfile of the ingest here")
    ap.add_argument("--keep", action="store_true", help="keep the state directory")
    ap.add_argument("--dump", type=Path, default=None,
                    help="write every batch's outcome and rule result here (JSON lines), to compare runs")
    ap.add_argument("--log", action="store_true", help="the loader's per-group log on stderr")
    args = ap.parse_args(argv)
    if not (args.landing / ".").is_dir():
        print(f"{args.landing}: not a directory", file=sys.stderr)
        return 2
    if args.home.exists():
        print(f"{args.home}: exists; give a new state directory", file=sys.stderr)
        return 2
    if args.log:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        print(json.dumps(run(args.landing, args.home, args.profile, args.dump)), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(args.home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
