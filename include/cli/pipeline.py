"""``supervision run|demo|summary|airflow-ui``: the pipeline's DAGs run in-process, and what they did."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time

from include.cli.warehouse import _venv_bin, cmd_dbt_parse, cmd_up
from include.config import DAGS_DIR, paths

# Dependency order of the DAGs (Assets link them under a scheduler; in-process we run them in turn).
# score_risk trains and promotes the first champion itself when there is none; retrain_models runs
# monthly, on large drift or on demand (`supervision run retrain_models`).
DAG_ORDER = ("ingest_submissions", "ingest_external", "build_warehouse", "score_risk")


def cmd_simulate(args: argparse.Namespace) -> int:
    """The demo's world: the simulator writes it into this installation's landing zone."""
    import simulator

    p = paths()
    defects = getattr(args, "defects", None)
    if defects not in (None, "none", "default", "all"):
        defects = float(defects)
    summary = simulator.generate(p.landing, p.ground_truth, preset=args.preset, seed=args.seed, defects=defects)
    if getattr(args, "full_summary", True):
        print(json.dumps(summary, indent=2, ensure_ascii=False, default=str))
    else:
        planted = sum(summary.get("defects", {}).values())
        print(f"simulated world {args.preset}/{args.seed}: {summary['institutions']} institutions, "
              f"{summary['submissions']} submissions, {summary['files']} files, "
              f"{sum(summary['rows'].values()):,} rows, "
              f"{planted} delivery defects planted ({summary['seconds']:.0f}s)", flush=True)
    return 0


def run_dags(dag_ids: tuple[str, ...] = DAG_ORDER, preset: str = "tiny", seed: int = 7,
             verbose: bool = False) -> dict[str, str]:
    """Run the DAGs in order with dag.test() in this process. Returns {dag_id: state}.

    ``ingest_external`` reads the feeds' base URL from the Airflow connection ``external_feeds``; when
    ``AIRFLOW_CONN_EXTERNAL_FEEDS`` is not set, the simulator's feed server for ``preset``/``seed`` (the
    world ``simulate`` wrote; the CLI passes its ``--preset``/``--seed``, programmatic callers get the cheap
    ``tiny`` world) is started on 127.0.0.1 for the duration of the run.

    The console gets one line per task and library warnings (everything with ``verbose``); each task's
    log goes to the file the Airflow UI reads (include/cli/console.py)."""
    if "ingest_external" in dag_ids and not os.environ.get("AIRFLOW_CONN_EXTERNAL_FEEDS"):
        from simulator.external.demo import simulated_feed_server

        with simulated_feed_server(preset, seed) as srv:
            os.environ["AIRFLOW_CONN_EXTERNAL_FEEDS"] = srv.url
            try:
                return run_dags(dag_ids, preset, seed, verbose)
            finally:
                os.environ.pop("AIRFLOW_CONN_EXTERNAL_FEEDS", None)
    from include.airflow_env import airflow_env, apply, ensure_metadata_db

    ensure_metadata_db()
    if not (paths().dbt_target / "manifest.json").exists():
        cmd_dbt_parse(None)  # build_warehouse is rendered from it
    apply(airflow_env())
    import airflow  # noqa: F401 - configures Airflow's logging, which console.install then reroutes
    import airflow.sdk.definitions.dag as sdk_dag

    from include.cli.console import TaskProgress, routed

    logs = paths().airflow_home / "logs"
    original = sdk_dag._run_task
    with routed(paths().airflow_home, verbose=verbose) as router, _StallGuard() as guard:
        progress = TaskProgress(router, logs)
        wrapped = progress.wrap(original)

        def run_task(*args, **kwargs):
            guard.idle = 0  # a task runs: the DAG is not stuck
            return wrapped(*args, **kwargs)

        sdk_dag._run_task = run_task
        from include.cosmos_watcher import SUMMARY_ONLY_ENV

        # consumers run after their producer here: it pushes its nodes' results once (include/cosmos_watcher.py)
        os.environ[SUMMARY_ONLY_ENV] = "1"
        try:
            return _run_in_turn(dag_ids, progress, router, logs)
        finally:
            sdk_dag._run_task = original
            os.environ.pop(SUMMARY_ONLY_ENV, None)


class DagStalled(RuntimeError):
    """No task of the DAG run could run for a while, and none ever will."""


class _StallGuard:
    """``dag.test()`` never returns when tasks are left that can never run: it logs "No tasks to run.
    unrunnable tasks" and sleeps a second, forever (seen when a Cosmos watcher producer failed and the
    trigger rules of some consumers never resolve). Count those one-second sleeps of its loop, and only
    those; after ``limit`` in a row with no task run in between, raise :class:`DagStalled`."""

    def __init__(self, limit: int = 120) -> None:
        self.limit, self.idle = limit, 0

    def __enter__(self) -> _StallGuard:
        self.real = time.sleep
        time.sleep = self.sleep
        return self

    def __exit__(self, *exc) -> None:
        time.sleep = self.real

    def sleep(self, seconds: float) -> None:
        caller = sys._getframe(1).f_code
        if caller.co_name == "test" and caller.co_filename.endswith(os.path.join("sdk", "definitions", "dag.py")):
            self.idle += 1
            if self.idle > self.limit:
                raise DagStalled(f"no task could run for {self.limit} s and none ever will "
                                 "(an upstream task failed; its dependants' trigger rules never resolve)")
        self.real(seconds)


class _ParseOnce:
    """``dag.test()`` parses every DAG file of the bundle again before each DAG's run, to write the DAGs to
    the metadata DB (``BundleDagBag`` + ``sync_bag_to_db``): with Cosmos rendering ~170 tasks that is
    seconds per DAG run. In one process the files do not change between the runs: parse the bundle once
    (the runner's own bag) and hand that bag to every ``dag.test()`` of this ``run_dags``; the sync still
    runs each time. Patched only while the DAGs run; a bag for another folder is parsed as before."""

    def __enter__(self) -> _ParseOnce:
        import airflow.dag_processing.dagbag as dagbag

        self.module, self.original, self.bags = dagbag, dagbag.BundleDagBag, {}
        self.real = self.original  # what parses a bag
        dagbag.BundleDagBag = self.bag
        return self

    def __exit__(self, *exc) -> None:
        self.module.BundleDagBag = self.original

    def bag(self, dag_folder=None, *args, **kwargs):
        if args:  # not the call dag.test() makes: no reuse
            return self.real(dag_folder, *args, **kwargs)
        key = (os.path.realpath(str(dag_folder)), os.path.realpath(str(kwargs.get("bundle_path"))),
               kwargs.get("bundle_name"), tuple(sorted((k, repr(v)) for k, v in kwargs.items()
                                                       if k not in ("bundle_path", "bundle_name"))))
        if key not in self.bags:
            self.bags[key] = self.real(dag_folder, **kwargs)
        return self.bags[key]

    def dags_folder_bag(self):
        """The bag of the bundle that holds ``DAGS_DIR``, as ``dag.test()`` will ask for it."""
        from airflow.dag_processing.bundles.manager import DagBundlesManager
        from airflow.dag_processing.dagbag import DagBag

        for bundle in DagBundlesManager().get_all_dag_bundles():
            if os.path.realpath(str(bundle.path)) == os.path.realpath(str(DAGS_DIR)):
                return self.bag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        return DagBag(dag_folder=str(DAGS_DIR))


def _preimport_dbt(dag_ids) -> None:
    """dbt's import (2 s of CPU, 5 s at load) sits on the path of the first dbt task (the producer's
    ``dbt build``): start it in a thread while the earlier DAGs or the DAG's first tasks run. The import
    lock makes the producer's own import wait for this one, never run it twice."""
    if {"build_warehouse", "score_risk"} & set(dag_ids) and "dbt.cli.main" not in sys.modules:
        import importlib
        import threading

        def load() -> None:
            try:
                importlib.import_module("dbt.cli.main")
            except Exception:  # noqa: BLE001 - only a head start: the producer imports (and reports) it itself
                pass

        threading.Thread(target=load, name="dbt-import", daemon=True).start()


def _ahead(dag_id: str):
    """``score_risk``: ``dag.test()`` runs its ``score_<preset>`` tasks one after the other, so the panels without a
    champion have their candidates evaluated in processes of their own, all at once, while it runs
    (``ml.dag_tasks.cold_training_ahead``: the same figures; each task still reports, registers, promotes and
    scores its panel and logs the work as its own)."""
    if dag_id != "score_risk":
        return contextlib.nullcontext()
    from include.warehouse.connection import role_url
    from ml.dag_tasks import DEFAULT_PRESETS, cold_training_ahead

    return cold_training_ahead(DEFAULT_PRESETS, role_url("scorer"))


def _run_in_turn(dag_ids, progress, router, logs) -> dict[str, str]:
    with _ParseOnce() as parse_once:
        return _run_parsed(dag_ids, progress, router, logs, parse_once.dags_folder_bag())


def _run_parsed(dag_ids, progress, router, logs, bag) -> dict[str, str]:
    if bag.import_errors:
        raise SystemExit("DAG import errors:\n" + "\n".join(f"{k}: {v}" for k, v in bag.import_errors.items()))
    _preimport_dbt(dag_ids)
    states = {}
    for dag_id in dag_ids:
        t = time.perf_counter()
        dag = bag.dags[dag_id]
        try:
            with progress.dag(dag_id, len(dag.tasks)), _ahead(dag_id):
                dr = dag.test()
            state = getattr(dr, "state", dr)
            states[dag_id] = str(getattr(state, "value", state))
        except DagStalled as e:
            states[dag_id] = f"failed ({e})"
        progress.line(f"DAG {dag_id}: {states[dag_id]} in {time.perf_counter() - t:.1f}s")
        if "success" not in states[dag_id]:
            raise SystemExit(f"DAG {dag_id} ended {states[dag_id]}; task logs under {logs}, "
                             f"this run's log: {router.run_log}")
    return states


def cmd_run(args: argparse.Namespace) -> int:
    run_dags(tuple(args.dags) if args.dags else DAG_ORDER, args.preset, args.seed, verbose=_verbose(args))
    return 0


def _verbose(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "verbose", False))


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
        "airflow_ui": "supervision airflow-ui  (then http://127.0.0.1:8080)",
    }
    return out


def external_summary(conn) -> dict:
    """Rows per external feed, quarantined records, negative news and flagged advert leads."""
    from include.registry.feeds import FEEDS

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


def _timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def cmd_demo(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from include.airflow_env import ensure_metadata_db
    from include.cli.warehouse import _dbt

    t0 = time.perf_counter()
    p = paths()
    # Airflow's metadata DB and dbt's manifest are subprocesses that need neither the simulated world
    # nor each other: they run beside the warehouse start and the simulator (which use one core).
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="demo-prep") as pool:
        migrated = pool.submit(_timed, ensure_metadata_db)
        cmd_up(args, metadata=False)
        parsed = pool.submit(_timed, _dbt, ["parse", "--quiet"])  # after `up`: its profile needs the roles
        if any(p.landing.glob("*/*/*/manifest.json")) and not args.regenerate:
            print(f"landing zone already populated at {p.landing} (use --regenerate to simulate again)")
        else:
            args.full_summary = _verbose(args)
            cmd_simulate(args)
        ran, seconds = migrated.result()
        print(f"airflow metadata {'migrated' if ran else 'up to date'} ({seconds:.1f}s, beside the above)")
        _, seconds = parsed.result()
        print(f"dbt manifest: {p.dbt_target / 'manifest.json'} ({seconds:.1f}s, beside the above)", flush=True)
    run_dags(DAG_ORDER, args.preset, args.seed, verbose=_verbose(args))
    from include.cli.story import render, story

    print("\n".join(render(story())))
    print(f"demo wall time: {time.perf_counter() - t0:.1f}s")
    return 0


def cmd_airflow_ui(args: argparse.Namespace) -> int:
    """The Airflow UI on this installation's metadata DB. Inspect-only by default: only the API server
    (which serves the UI) runs, no scheduler, so nothing queued or scheduled starts; the DAG runs, task
    logs and durations of `supervision run|demo` are there to look at. ``--run-schedules``: `airflow
    standalone` (scheduler, DAG processor, triggerer, API server), DAGs unpaused, schedules run."""
    from contextlib import ExitStack

    from include.airflow_env import airflow_env, ensure_metadata_db

    ensure_metadata_db()
    port = str(getattr(args, "port", None) or os.environ.get("AIRFLOW__API__PORT", "8080"))
    env = {**os.environ, **airflow_env(port=port)}
    # `airflow standalone` starts its components as `airflow ...` by name: this venv's, whatever PATH says
    env["PATH"] = os.pathsep.join([os.path.dirname(_venv_bin("airflow")), env.get("PATH", "")])
    with ExitStack() as stack:
        if getattr(args, "run_schedules", False):
            if not env.get("AIRFLOW_CONN_EXTERNAL_FEEDS"):
                # ingest_external's connection: the simulator's feed server for this world, as `run` does
                from simulator.external.demo import simulated_feed_server

                env["AIRFLOW_CONN_EXTERNAL_FEEDS"] = stack.enter_context(
                    simulated_feed_server(args.preset, args.seed)).url
            env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "False"
            cmd = [_venv_bin("airflow"), "standalone"]
            mode = "schedules RUN (scheduler on)"
        else:
            cmd = [_venv_bin("airflow"), "api-server", "--host", "127.0.0.1", "--port", port]
            if not _verbose(args):  # the server's own request chatter; task logs are files, not affected
                env.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
            mode = "inspect-only (no scheduler: nothing runs; --run-schedules to run the schedules)"
        print(f"Airflow UI on http://127.0.0.1:{port}  {mode}\n"
              f"  login: {paths().airflow_home}/simple_auth_manager_passwords.json.generated; Ctrl-C stops it",
              flush=True)
        try:
            return subprocess.call(cmd, env=env)
        except KeyboardInterrupt:
            return 0
