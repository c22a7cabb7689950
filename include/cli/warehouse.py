"""``supervision up|down|status|dbt``: the warehouse and dbt, for data engineers."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from include.config import DBT_PROJECT_DIR, paths


def _venv_bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def cmd_up(args: argparse.Namespace, metadata: bool = True) -> int:
    """The warehouse up and migrated, then Airflow's metadata DB (``metadata=False``: the caller migrates
    it itself, e.g. `demo` beside the simulator)."""
    from include.airflow_env import ensure_metadata_db
    from include.warehouse.bootstrap import bootstrap
    from include.warehouse.compat import UnsupportedServer
    from include.warehouse.connection import ensure_up, external_url

    t = time.perf_counter()
    ensure_up()
    try:
        applied = bootstrap()
    except UnsupportedServer as e:
        print(f"supervision up: unsupported server: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    where = "external server (SUPERVISION_DATABASE_URL)" if external_url() else "embedded PostgreSQL"
    airflow = ""
    if metadata:
        airflow = f"; airflow metadata {'migrated' if ensure_metadata_db() else 'up to date'}"
    print(f"warehouse up: {where}; migrations applied now: {_names(applied)}{airflow} "
          f"({time.perf_counter() - t:.1f}s)")
    return 0


def _names(items: list[str]) -> str:
    if not items:
        return "none"
    return ", ".join(items) if len(items) <= 3 else f"{len(items)} ({items[0]} … {items[-1]})"


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


def _dbt(dbt_args: list[str], check: bool = True, target: Path | None = None) -> subprocess.CompletedProcess:
    """dbt with the transformer's profile. ``target``: another target path than the installation's, e.g.
    for runs with ``--vars``: dbt re-parses the whole project when the vars differ from those of the target's
    partial-parse state, so a run with vars in the shared target costs two full parses (its own and the next
    plain run's)."""
    from include.airflow_env import dbt_env

    p = paths()
    env = {**os.environ, **dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    cmd = [_venv_bin("dbt"), *dbt_args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
           str(DBT_PROJECT_DIR), "--target-path", str(target or p.dbt_target), "--log-path", str(p.dbt_logs)]
    if dbt_args and not dbt_args[0].startswith("-"):
        # the profile and target Cosmos passes: dbt's partial-parse state then serves the DAGs' first build
        # too (include/cosmos_dbt.py seed_partial_parse) instead of a full parse in the producer
        cmd += ["--profile", "supervision", "--target", "transformer"]
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

