"""Ingest benchmark (issue #4 item 10): the same transaction rows loaded four ways, in one run.

1. ``copy``: raw ``COPY`` of the files into an empty typed table (the physical anchor).
2. ``floor``: the two writes any land-then-promote load makes, and nothing else: ``COPY`` as text into an
   unlogged landing table, then one ``INSERT ... SELECT`` with the casts into a table shaped as ``raw``
   (logged, partitioned by period). No check, no rule, no token, no ledger (:func:`bench_floor`).
3. ``full``: the pipeline's path, ``ingest_manifests``: archive + sha256 + verify + COPY into landing +
   GX quality gate + promote into ``raw`` (with pseudonymisation) + feedback and DQ summary.
4. ``to_sql``: ``pandas.read_csv`` + ``DataFrame.to_sql`` (what typical pipelines do), on at most
   ``--to-sql-rows`` rows (it is slow; its rows/s is what is compared).
5. with ``--shards 2``: ``full`` again, in a second fresh database, as a deployed ``ingest_submissions`` runs
   it: the submissions split by ``discover_shards`` and each shard ingested by its own process at the same
   time (the DAG's mapped tasks on an executor with two slots; ``dag.test()`` in the demo runs them one
   after the other); and ``copy`` again on as many connections at once (``copy_shards``), its fair anchor.

Input: the state directory's transaction files (``make bench-ingest`` generates the ``small`` world if there
are none; ``simulate generate --world medium`` for more), taken in landing order until each size is reached. Every size
runs in a fresh database on the state directory's server (started if needed), so the paths never see
each other's data. Prints one JSON line per (size, path) and a summary; ``--out`` writes them as JSON.

    python -m bench.ingest.run --sizes 1000000 5000000
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from include.config import StatePaths, paths
from include.registry.datasets import TRANSACTION
from include.registry.ddl import q

log = logging.getLogger("bench.ingest")


def transaction_files(landing: Path, rows: int, max_file_rows: int | None = None) -> list[tuple[Path, dict, dict]]:
    """(manifest path, manifest, transaction entry) in landing order until ``rows`` rows; only files of
    at most ``max_file_rows`` rows when given (many small files: the per-file costs)."""
    out, total = [], 0
    for m in sorted(landing.glob("*/*/*/manifest.json")):
        try:
            manifest = json.loads(m.read_text())
        except ValueError:
            continue
        for e in manifest.get("files", []):
            if e.get("dataset") == "transaction" and (m.parent / e["file"]).exists() \
                    and (max_file_rows is None or e["rows"] <= max_file_rows):
                out.append((m, manifest, e))
                total += e["rows"]
        if total >= rows:
            break
    if total == 0:
        raise SystemExit(f"no transaction rows in {landing}; generate the medium preset first")
    if total < rows:
        log.warning("asked for %d rows, %s holds %d: using them all", rows, landing, total)
    return out


def _fresh_database(admin: str) -> str:
    from include.warehouse.connection import libpq_url

    db = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(admin), autocommit=True) as conn:
        conn.execute(f'create database "{db}"')
    u = urlsplit(admin)
    return urlunsplit((u.scheme, u.netloc, "/" + db, u.query, ""))


def _drop_database(admin: str, url: str) -> None:
    from include.warehouse.connection import libpq_url

    with psycopg.connect(libpq_url(admin), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{urlsplit(url).path.lstrip("/")}" with (force)')


def _copy_each(conn: psycopg.Connection, table: str, files: list[tuple[Path, dict, dict]]) -> tuple[int, int]:
    """COPY every file into ``table`` in one transaction, each under a savepoint: a file COPY refuses (a
    malformed file of a --defects landing, which the loader rejects too) is skipped. Returns (rows, files
    skipped)."""
    from include.ingest.contract import ENCODINGS
    from include.ingest.files import _byte_stream

    names = ", ".join(q(c.name) for c in TRANSACTION.columns)
    rows = skipped = 0
    with conn.transaction(), conn.cursor() as cur:
        for m, _, e in files:
            encoding = ENCODINGS[e["encoding"].lower()]
            copy_sql = (f"copy {table} ({names}) from stdin with (format csv, header true, "
                        f"delimiter '{e['delimiter']}', encoding '{encoding}')")
            try:
                with conn.transaction(), cur.copy(copy_sql) as copy:
                    for chunk in _byte_stream(m.parent / e["file"], e.get("compression")):
                        copy.write(chunk)
            except (psycopg.errors.DataError, psycopg.errors.IntegrityError):
                skipped += 1
                continue
            rows += cur.rowcount
    return rows, skipped


def bench_copy(url: str, files: list[tuple[Path, dict, dict]], connections: int = 1) -> dict:
    """COPY every file into an empty typed table (same column types as raw, no partitioning); with
    ``connections`` > 1, on that many connections at once (threads: psycopg waits for the server without the
    GIL), the files dealt round-robin."""
    from concurrent.futures import ThreadPoolExecutor

    from include.warehouse.connection import libpq_url

    table = "public.txn_copy" if connections == 1 else "public.txn_copy_shards"
    cols = ", ".join(f"{q(c.name)} {c.pg_type}" for c in TRANSACTION.columns)
    conns = [psycopg.connect(libpq_url(url), autocommit=True) for _ in range(connections)]
    try:
        conns[0].execute(f"create table {table} ({cols})")
        t0 = time.perf_counter()
        with ThreadPoolExecutor(connections) as pool:
            done = list(pool.map(lambda i: _copy_each(conns[i], table, files[i::connections]), range(connections)))
        seconds = time.perf_counter() - t0
    finally:
        for c in conns:
            c.close()
    skipped = sum(s for _, s in done)
    return {"rows": sum(r for r, _ in done), "seconds": seconds, **({"files_skipped": skipped} if skipped else {})}


def bench_floor(url: str, files: list[tuple[Path, dict, dict]]) -> dict:
    """The floor of any land-then-promote design, none of the checks: every file COPYed as text into one
    unlogged landing table (as the loader's, with its line numbers), then one ``INSERT ... SELECT`` casting
    into a table shaped as ``raw`` (logged, list-partitioned by period, one partition per period). No type
    check, no rule, no token, no ledger: the two writes a validated load cannot avoid (it must keep the
    submitted text to report a bad value with its line, and write the typed rows). ``full`` can at best
    approach it."""
    from include.registry.ddl import cast_text
    from include.warehouse.connection import libpq_url

    names = ", ".join(q(c.name) for c in TRANSACTION.columns)
    text_cols = ", ".join(f"{q(c.name)} text" for c in TRANSACTION.columns)
    typed_cols = ", ".join(f"{q(c.name)} {c.pg_type}" for c in TRANSACTION.columns)
    periods = sorted({manifest["period"] for _, manifest, _ in files})
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f"create unlogged table public.txn_floor_landing (_batch_id bigint not null default 0, "
                     f"_line bigint generated always as identity, {text_cols})")
        conn.execute(f"create table public.txn_floor ({typed_cols}, _batch_id bigint not null, _line bigint not null) "
                     f"partition by list ({q(TRANSACTION.period_column)})")
        for i, p in enumerate(periods):
            conn.execute(f"create table public.txn_floor_p{i} partition of public.txn_floor for values in ('{p}')")
        # a --defects landing has rows of other periods (the rule report_period_matches stops them)
        conn.execute("create table public.txn_floor_other partition of public.txn_floor default")
        t0 = time.perf_counter()
        _, skipped = _copy_each(conn, "public.txn_floor_landing", files)
        t_land = time.perf_counter() - t0
        casts = ", ".join(cast_text(q(c.name), c.pg_type) for c in TRANSACTION.columns)
        insert = (f"insert into public.txn_floor ({names}, _batch_id, _line) "
                  f"select {casts}, _batch_id, _line from public.txn_floor_landing")
        filtered = False
        try:
            with conn.transaction():
                rows = conn.execute(insert).rowcount
        except psycopg.errors.DataError:
            # a --defects landing: values that do not cast are left out, at the cost of a check (flagged)
            filtered = True
            ok = " and ".join(f"({q(c.name)} is null or pg_input_is_valid({q(c.name)}, '{c.pg_type}'))"
                              for c in TRANSACTION.columns if c.pg_type != "text")
            with conn.transaction():
                rows = conn.execute(f"{insert} where {ok}").rowcount
        seconds = time.perf_counter() - t0
    out = {"rows": rows, "seconds": seconds,
           "phases": {"land": round(t_land, 2), "promote": round(seconds - t_land, 2)}}
    if skipped:
        out["files_skipped"] = skipped
    if filtered:
        out["checked_casts_after_a_failed_try"] = True
    return out


def bench_full(url: str, files: list[tuple[Path, dict, dict]], state: StatePaths, profile: Path | None) -> dict:
    """The pipeline on one-file submissions (each a copy of the original manifest listing only its
    transaction file, the data file hard-linked, not copied)."""
    from include.ingest.loader import ingest_manifests
    from include.warehouse.connection import role_url

    manifests = _one_file_submissions(files, state)
    loader = role_url("loader", state)
    _admit_all(loader, files)
    # Once per process, not per row: importing GX and building its context (seconds; a minute on a
    # loaded machine) is measured apart from the load itself.
    from include.ingest.gx_runtime import _runtime

    t_warm = time.perf_counter()
    _runtime()
    warm_up = time.perf_counter() - t_warm
    prof = cProfile.Profile() if profile else None
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    outcomes = ingest_manifests(loader, manifests, state)
    if prof:
        prof.disable()
    seconds = time.perf_counter() - t0
    statuses: dict[str, int] = {}
    for o in outcomes:
        statuses[o.status] = statuses.get(o.status, 0) + 1
    phases: dict[str, float] = {}
    seen_groups = set()
    for o in outcomes:
        key = tuple(sorted(o.seconds.items()))
        if o.seconds and key not in seen_groups:  # one entry per group: every member carries the group's times
            seen_groups.add(key)
            for k, v in o.seconds.items():
                phases[k] = phases.get(k, 0.0) + v
    phases["register_verify_report"] = seconds - sum(phases.values())
    if prof:
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(60)
        profile.write_text(s.getvalue())
        prof.dump_stats(str(profile.with_suffix(".pstats")))  # for pstats / snakeviz
    reasons = sorted({(o.reason or "")[:300] for o in outcomes if o.status != "accepted"})[:3]
    return {"rows": sum(o.rows for o in outcomes if o.status == "accepted"), "seconds": seconds,
            "statuses": statuses, **({"reasons": reasons} if reasons else {}),
            "phases": {k: round(v, 2) for k, v in phases.items()},
            "gx_warm_up_seconds_not_counted": round(warm_up, 2)}


def _one_file_submissions(files: list[tuple[Path, dict, dict]], state: StatePaths) -> list[Path]:
    """Each transaction file as a submission of its own under ``state``'s landing zone (a copy of the original
    manifest listing only that file, the data file hard-linked, not copied)."""
    landing = state.home / "landing"
    manifests = []
    for m, manifest, e in files:
        folder = landing / m.parent.relative_to(m.parents[3])
        folder.mkdir(parents=True)
        try:  # links are never followed by the loader (rule: no_links): a hard link, else a copy
            os.link(m.parent / e["file"], folder / e["file"])
        except OSError:
            shutil.copyfile(m.parent / e["file"], folder / e["file"])
        (folder / "manifest.json").write_text(json.dumps({**manifest, "files": [e]}))
        manifests.append(folder / "manifest.json")
    return manifests


def _admit_all(loader: str, files: list[tuple[Path, dict, dict]]) -> None:
    """A simulated world's institutions, admitted by the regulator before their first submission (the
    one-file submissions carry no institution record)."""
    from include.ingest.admission import admit
    from include.warehouse.connection import libpq_url

    with psycopg.connect(libpq_url(loader), autocommit=True) as conn:
        admit(conn, sorted({manifest["institution_code"] for _, manifest, _ in files}), "bench")


def bench_full_shards(url: str, files: list[tuple[Path, dict, dict]], state: StatePaths, shards: int) -> dict:
    """``full`` as a deployed DAG runs it: ``discover_shards`` splits the submissions (by institution), and
    one process per shard ingests its share (``ingest_shard``, what each mapped task calls), all at once.
    Each process imports GX and builds its context first, untimed (as ``full``); the clock runs from the
    moment every process is ready until the last one is done."""
    import subprocess

    from include.ingest.pipeline import discover_shards
    from include.warehouse.connection import role_url

    _one_file_submissions(files, state)
    loader = role_url("loader", state)
    _admit_all(loader, files)
    parts = discover_shards(loader, state.home / "landing", max_shards=shards)
    env = {**os.environ, "SUPERVISION_HOME": str(state.home)}
    procs = []
    for i, part in enumerate(parts):
        listing = state.home / f"shard{i}.json"
        listing.write_text(json.dumps(part))
        procs.append(subprocess.Popen([sys.executable, "-m", "bench.ingest.run", "--shard-worker", str(listing)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True))
    try:
        for p in procs:  # each prints "ready" once GX is warm
            if p.stdout.readline().strip() != "ready":
                raise SystemExit("a shard worker did not start")
        t0 = time.perf_counter()
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = [json.loads(p.stdout.readline()) for p in procs]
        seconds = time.perf_counter() - t0
    finally:
        for p in procs:  # a worker still waiting for "go" reads the end of its input and stops
            p.stdin.close()
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    statuses: dict[str, int] = {}
    for o in outs:
        for k, n in o["batches"].items():
            st = k.split(":")[1]
            statuses[st] = statuses.get(st, 0) + n
    return {"rows": sum(o["accepted_rows"].get("transaction", 0) for o in outs), "seconds": seconds,
            "statuses": statuses, "shards": [[o["submissions"], round(o["seconds"], 2)] for o in outs]}


def _shard_worker(listing: Path) -> int:
    """One shard of :func:`bench_full_shards`: warm GX, say "ready", wait for "go", ingest, print the summary."""
    from include.ingest.gx_runtime import _runtime
    from include.ingest.pipeline import ingest_shard
    from include.warehouse.connection import role_url

    logging.basicConfig(level=logging.WARNING)
    manifests = json.loads(listing.read_text())
    _runtime()
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 1
    t0 = time.perf_counter()
    out = ingest_shard(role_url("loader", paths()), manifests)
    print(json.dumps({**out, "seconds": time.perf_counter() - t0}), flush=True)
    return 0


def bench_to_sql(url: str, files: list[tuple[Path, dict, dict]], limit: int) -> dict:
    import pandas as pd
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    rows, t0 = 0, time.perf_counter()
    for m, _, e in files:
        df = pd.read_csv(m.parent / e["file"], dtype=str, keep_default_na=False, encoding=e["encoding"],
                         sep=e["delimiter"], compression=e.get("compression"), nrows=limit - rows)
        df.to_sql("txn_to_sql", engine, schema="public", if_exists="append", index=False, chunksize=10_000)
        rows += len(df)
        if rows >= limit:
            break
    engine.dispose()
    return {"rows": rows, "seconds": time.perf_counter() - t0}


def _bench_state(path: Path, home: StatePaths) -> StatePaths:
    """A private state directory for one database of the run, with ``home``'s role passwords, bootstrapped
    (into the database ``SUPERVISION_DATABASE_URL`` names)."""
    from include.warehouse.bootstrap import bootstrap

    state = StatePaths(path)
    state.home.mkdir(mode=0o700)
    shutil.copytree(home.secrets, state.secrets)
    bootstrap(state)
    return state


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--to-sql-rows", type=int, default=200_000, help="cap for pandas.to_sql (default 200000)")
    ap.add_argument("--max-file-rows", type=int, default=None,
                    help="only files of at most this many rows (many small files: per-file costs)")
    ap.add_argument("--profile", action="store_true", help="cProfile the full path (written beside --out)")
    ap.add_argument("--shards", type=int, default=1,
                    help="also run the validated path as a deployed DAG does, in this many processes at once, "
                         "and COPY on as many connections (default 1: not run)")
    ap.add_argument("--shard-worker", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.shard_worker:
        return _shard_worker(args.shard_worker)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")

    from include.warehouse.connection import admin_url, ensure_up

    home = paths()
    ensure_up(home)
    admin = admin_url(home)
    results = []
    for size in args.sizes:
        files = transaction_files(home.landing, size, args.max_file_rows)
        url = _fresh_database(admin)
        scratch = Path(tempfile.mkdtemp(prefix="bench-ingest-", dir=home.home))
        saved = os.environ.get("SUPERVISION_DATABASE_URL")
        os.environ["SUPERVISION_DATABASE_URL"] = url
        sharded = {}
        try:
            state = _bench_state(scratch / "one", home)
            copy = bench_copy(url, files)
            floor = bench_floor(url, files)
            profile = (args.out.with_suffix(f".{size}.prof.txt") if args.out else scratch / "prof.txt") \
                if args.profile else None
            full = bench_full(url, files, state, profile)
            to_sql = bench_to_sql(url, files, min(args.to_sql_rows, size))
            if args.shards > 1:  # a second fresh database: the first holds every file accepted already
                url2 = _fresh_database(admin)
                os.environ["SUPERVISION_DATABASE_URL"] = url2
                try:
                    state2 = _bench_state(scratch / "shards", home)
                    sharded["copy_shards"] = bench_copy(url2, files, args.shards)
                    sharded["full_shards"] = bench_full_shards(url2, files, state2, args.shards)
                finally:
                    _drop_database(admin, url2)
        finally:
            if saved is None:
                os.environ.pop("SUPERVISION_DATABASE_URL", None)
            else:
                os.environ["SUPERVISION_DATABASE_URL"] = saved
            _drop_database(admin, url)
            shutil.rmtree(scratch, ignore_errors=True)
        r = {"size": size, "files": len(files)}
        for name, m in (("copy", copy), ("floor", floor), ("full", full), ("to_sql", to_sql), *sharded.items()):
            r[name] = {**m, "rows_per_s": round(m["rows"] / m["seconds"]), "seconds": round(m["seconds"], 2)}
        r["full_vs_copy"] = round(r["full"]["rows_per_s"] / r["copy"]["rows_per_s"], 3)
        r["floor_vs_copy"] = round(r["floor"]["rows_per_s"] / r["copy"]["rows_per_s"], 3)
        r["to_sql_vs_copy"] = round(r["to_sql"]["rows_per_s"] / r["copy"]["rows_per_s"], 3)
        if sharded:
            r["full_shards_vs_copy"] = round(r["full_shards"]["rows_per_s"] / r["copy"]["rows_per_s"], 3)
            r["full_shards_vs_copy_shards"] = round(r["full_shards"]["rows_per_s"] / r["copy_shards"]["rows_per_s"], 3)
        print(json.dumps(r, ensure_ascii=False), flush=True)
        results.append(r)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print("size        copy rows/s   floor rows/s   full rows/s   to_sql rows/s   floor/copy   full/copy   to_sql/copy",
          file=sys.stderr)
    for r in results:
        print(f"{r['size']:>9}  {r['copy']['rows_per_s']:>12}  {r['floor']['rows_per_s']:>13}  "
              f"{r['full']['rows_per_s']:>12}  {r['to_sql']['rows_per_s']:>14}  {r['floor_vs_copy']:>11}  "
              f"{r['full_vs_copy']:>10}  {r['to_sql_vs_copy']:>12}", file=sys.stderr)
        if "full_shards" in r:
            print(f"{'':>9}  {args.shards} shards: copy {r['copy_shards']['rows_per_s']} rows/s, validated "
                  f"{r['full_shards']['rows_per_s']} rows/s: {r['full_shards_vs_copy']} of one COPY, "
                  f"{r['full_shards_vs_copy_shards']} of {args.shards} COPYs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
