"""Command line for data engineers: ``python -m include.cli --help``.

    up          start the embedded warehouse (unless SUPERVISION_DATABASE_URL is set), bootstrap
                roles/schemas/tables, migrate Airflow's metadata DB
    down        stop the embedded warehouse
    status      where everything is and whether the warehouse is running
    simulate    write a simulated regulated universe into the landing zone
    dbt-parse   make dbt's manifest.json (what Cosmos renders the warehouse DAG from)
    run         run the DAGs in dependency order, in-process, with dag.test()
    demo        up + simulate + dbt-parse + run + summary (what `make demo` calls)
    summary     row counts and where to look
    airflow-ui  start the real Airflow UI (`airflow standalone`) on 127.0.0.1
    dbt         run any dbt command against the warehouse as the transformer role
    dbt-sources regenerate dbt's source YAML from the dataset registry
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from include.config import DAGS_DIR, DBT_PROJECT_DIR, paths

log = logging.getLogger("supervision")

# Dependency order of the DAGs (Assets link them under a scheduler; in-process we run them in turn).
# score_risk trains and promotes the first champion itself when there is none; retrain_models runs
# monthly, on large drift or on demand (`python -m include.cli run retrain_models`).
DAG_ORDER = ("ingest_submissions", "ingest_external", "build_warehouse", "score_risk")


def _venv_bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


# ----------------------------------------------------------------------------------- commands
def cmd_up(args: argparse.Namespace) -> int:
    from include.airflow_env import ensure_metadata_db
    from include.warehouse.bootstrap import bootstrap
    from include.warehouse.connection import ensure_up, external_url

    t = time.perf_counter()
    ensure_up()
    applied = bootstrap()
    migrated = ensure_metadata_db()
    where = "external server (SUPERVISION_DATABASE_URL)" if external_url() else "embedded PostgreSQL"
    print(f"warehouse up: {where}; migrations applied now: {applied or 'none'}; "
          f"airflow metadata {'migrated' if migrated else 'up to date'} ({time.perf_counter() - t:.1f}s)")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from include.warehouse.connection import external_url
    from include.warehouse.server import EmbeddedServer

    if external_url():
        print("SUPERVISION_DATABASE_URL is set: the warehouse is not ours to stop")
        return 0
    stopped = EmbeddedServer().down()
    print("embedded warehouse stopped" if stopped else "embedded warehouse was not running")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from include.warehouse.connection import external_url
    from include.warehouse.server import EmbeddedServer

    p = paths()
    info = {"state_home": str(p.home)}
    if external_url():
        info["warehouse"] = "external (SUPERVISION_DATABASE_URL)"
    else:
        info["warehouse"] = EmbeddedServer().status().as_dict()
    info.update({
        "landing": str(p.landing), "archive": str(p.archive), "outbox": str(p.outbox),
        "airflow_home": str(p.airflow_home), "gx_results": str(p.gx_results), "dbt_target": str(p.dbt_target),
    })
    print(json.dumps(info, indent=2, ensure_ascii=False))
    running = info["warehouse"] == "external (SUPERVISION_DATABASE_URL)" or info["warehouse"]["running"]
    return 0 if running else 3


def cmd_simulate(args: argparse.Namespace) -> int:
    import simulator as simulate

    p = paths()
    summary = simulate.generate(p.landing, p.ground_truth, preset=args.preset, seed=args.seed,
                                defects=getattr(args, "defects", None))
    print(json.dumps(summary, indent=2, ensure_ascii=False, default=str))
    return 0


def _dbt(dbt_args: list[str], check: bool = True) -> subprocess.CompletedProcess:
    from include.airflow_env import dbt_env

    p = paths()
    env = {**os.environ, **dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    cmd = [_venv_bin("dbt"), *dbt_args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
           str(DBT_PROJECT_DIR), "--target-path", str(p.dbt_target), "--log-path", str(p.dbt_logs)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit(f"dbt {' '.join(dbt_args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    return proc


def cmd_dbt_parse(args: argparse.Namespace) -> int:
    t = time.perf_counter()
    _dbt(["parse", "--quiet"])
    print(f"dbt manifest: {paths().dbt_target / 'manifest.json'} ({time.perf_counter() - t:.1f}s)")
    return 0


def cmd_dbt(args: argparse.Namespace) -> int:
    proc = _dbt(args.dbt_args, check=False)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    return proc.returncode


def cmd_dbt_sources(args: argparse.Namespace) -> int:
    from include.registry.dbt_sources import write

    print(f"wrote {write()}")
    return 0


def run_dags(dag_ids: tuple[str, ...] = DAG_ORDER, preset: str = "tiny", seed: int = 7) -> dict[str, str]:
    """Run the DAGs in order with dag.test() in this process. Returns {dag_id: state}.

    ``ingest_external`` reads the feeds' base URL from the Airflow connection ``external_feeds``; when
    ``AIRFLOW_CONN_EXTERNAL_FEEDS`` is not set, the simulator's feed server for ``preset``/``seed`` (the
    world ``simulate`` wrote; the CLI passes its ``--preset``/``--seed``, programmatic callers get the cheap
    ``tiny`` world) is started on 127.0.0.1 for the duration of the run."""
    if "ingest_external" in dag_ids and not os.environ.get("AIRFLOW_CONN_EXTERNAL_FEEDS"):
        from simulator.external.demo import simulated_feed_server

        with simulated_feed_server(preset, seed) as srv:
            os.environ["AIRFLOW_CONN_EXTERNAL_FEEDS"] = srv.url
            try:
                return run_dags(dag_ids, preset, seed)
            finally:
                os.environ.pop("AIRFLOW_CONN_EXTERNAL_FEEDS", None)
    from include.airflow_env import airflow_env, apply, ensure_metadata_db

    ensure_metadata_db()
    if not (paths().dbt_target / "manifest.json").exists():
        cmd_dbt_parse(None)  # build_warehouse is rendered from it
    apply(airflow_env())
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    if bag.import_errors:
        raise SystemExit("DAG import errors:\n" + "\n".join(f"{k}: {v}" for k, v in bag.import_errors.items()))
    states = {}
    for dag_id in dag_ids:
        t = time.perf_counter()
        dr = bag.dags[dag_id].test()
        states[dag_id] = str(getattr(dr, "state", dr))
        print(f"DAG {dag_id}: {states[dag_id]} in {time.perf_counter() - t:.1f}s", flush=True)
        if "success" not in states[dag_id]:
            raise SystemExit(f"DAG {dag_id} ended {states[dag_id]}; logs under {paths().airflow_home / 'logs'}")
    return states


def cmd_run(args: argparse.Namespace) -> int:
    run_dags(tuple(args.dags) if args.dags else DAG_ORDER, args.preset, args.seed)
    return 0


def summary() -> dict:
    import psycopg

    from include.warehouse.connection import admin_url, libpq_url

    p = paths()
    out: dict = {}
    with psycopg.connect(libpq_url(admin_url())) as conn:
        out["batches_by_status"] = dict(conn.execute(
            "select status, count(*) from ops.batch group by status order by status").fetchall())
        from include.registry.datasets import DATASETS

        out["raw_rows"] = {ds: conn.execute(f'select count(*) from raw."{ds}"').fetchone()[0] for ds in DATASETS}
        try:
            out["mart_capital_adequacy_rows"] = conn.execute(
                "select count(*) from marts_prudential.capital_adequacy").fetchone()[0]
            out["institution_quarters_below_car_minimum"] = conn.execute(
                "select count(*) from marts_prudential.capital_adequacy where car_below_minimum").fetchone()[0]
        except psycopg.errors.UndefinedTable:
            out["mart_capital_adequacy_rows"] = None
            conn.rollback()
        out["external"] = external_summary(conn)
    out["where_to_look"] = {
        "airflow_logs": str(p.airflow_home / "logs"),
        "gx_data_docs": str(p.gx_results / "data_docs" / "index.html"),
        "dbt_target": str(p.dbt_target),
        "landing_zone": str(p.landing),
        "archive": str(p.archive),
        "feedback_outbox": str(p.outbox),
        "airflow_ui": "python -m include.cli airflow-ui  (then http://127.0.0.1:8080)",
    }
    return out


def external_summary(conn) -> dict:
    """Rows per external feed, quarantined records, negative news and flagged advert leads."""
    from include.external.feeds import FEEDS

    q = {f: conn.execute(f"select count(*) from {FEEDS[f].table}").fetchone()[0] for f in FEEDS}
    return {"raw_ext_rows": q,
            "quarantined_records": conn.execute("select count(*) from quarantine.ext_record").fetchone()[0],
            "negative_news": conn.execute("select count(*) from raw_ext.news_tone where tone = 'negative'"
                                          ).fetchone()[0],
            "news_entity_links": conn.execute("select count(*) from raw_ext.news_entity_link").fetchone()[0],
            "adverts_flagged_illegal": conn.execute("select count(*) from raw_ext.advert_lead_flag where illegal_promo"
                                                    ).fetchone()[0]}


def cmd_summary(args: argparse.Namespace) -> int:
    print(json.dumps(summary(), indent=2, ensure_ascii=False))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    cmd_up(args)
    p = paths()
    if any(p.landing.glob("*/*/*/manifest.json")) and not args.regenerate:
        print(f"landing zone already populated at {p.landing} (use --regenerate to simulate again)")
    else:
        cmd_simulate(args)
    cmd_dbt_parse(args)
    run_dags(DAG_ORDER, args.preset, args.seed)
    s = summary()
    print("\n=== demo summary ===")
    print(json.dumps(s, indent=2, ensure_ascii=False))
    print(f"capital_adequacy mart rows: {s['mart_capital_adequacy_rows']}")
    print(f"demo wall time: {time.perf_counter() - t0:.1f}s")
    return 0


def cmd_airflow_ui(args: argparse.Namespace) -> int:
    from include.airflow_env import airflow_env, ensure_metadata_db

    ensure_metadata_db()
    env = {**os.environ, **airflow_env()}
    print(f"Airflow UI on http://127.0.0.1:{env['AIRFLOW__API__PORT']} "
          f"(login: see {paths().airflow_home}/simple_auth_manager_passwords.json.generated); Ctrl-C stops it")
    return subprocess.call([_venv_bin("airflow"), "standalone"], env=env)


# ----------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m include.cli",
                                     description="Smart-supervision data platform: operate the pipeline.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=f"State directory: $SUPERVISION_HOME (now {paths().home})")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(func=func)
        return sp

    add("up", cmd_up, "start the warehouse, bootstrap it, migrate Airflow's metadata DB")
    add("down", cmd_down, "stop the embedded warehouse")
    add("status", cmd_status, "where everything is and whether the warehouse is running")
    sim = add("simulate", cmd_simulate, "write a simulated regulated universe into the landing zone")
    for sp in (sim,):
        sp.add_argument("--preset", default="small", help="tiny | small | medium | large (default small)")
        sp.add_argument("--seed", type=int, default=7)
        sp.add_argument("--defects", default=None,
                        help="inject defects: none (default) | default (~4%% of files) | all (every kind); "
                             "the catalogue is in simulator/defects.py, answers in ground_truth/defects.csv")
    add("dbt-parse", cmd_dbt_parse, "make dbt's manifest.json for Cosmos")
    add("dbt-sources", cmd_dbt_sources, "regenerate dbt source YAML from the dataset registry")
    d = add("dbt", cmd_dbt, "run a dbt command as the transformer role, e.g. `dbt -- docs generate`")
    d.add_argument("dbt_args", nargs=argparse.REMAINDER)
    r = add("run", cmd_run, "run the DAGs in dependency order in-process (dag.test())")
    r.add_argument("dags", nargs="*", help=f"DAG ids (default: {' '.join(DAG_ORDER)})")
    r.add_argument("--preset", default="small", help="world of the simulated feed server ingest_external reads "
                   "when AIRFLOW_CONN_EXTERNAL_FEEDS is not set (default small)")
    r.add_argument("--seed", type=int, default=7)
    demo = add("demo", cmd_demo, "up + simulate + dbt-parse + run + summary")
    demo.add_argument("--preset", default="small")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--regenerate", action="store_true", help="simulate again even if landing has data")
    add("summary", cmd_summary, "row counts and where to look")
    add("airflow-ui", cmd_airflow_ui, "start `airflow standalone` on 127.0.0.1 to inspect runs in the real UI")
    return parser


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # everything under the state directory holds data: private to this user (issue #14)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if getattr(args, "dbt_args", None) and args.dbt_args[:1] == ["--"]:
        args.dbt_args = args.dbt_args[1:]
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
