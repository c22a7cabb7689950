"""The environment Airflow (and dbt, Cosmos, GX) run in for the embedded default.

Everything is given as environment variables, so the same DAG files run unchanged under
docker-compose (where the compose file sets the same names):

* ``AIRFLOW_HOME`` in the state directory; SQLite metadata DB migrated once; no examples;
  small parallelism; the API bound to 127.0.0.1.
* Warehouse connections as ``AIRFLOW_CONN_SUPERVISION_<ROLE>`` (Postgres URIs), one per
  least-privilege role; DAG tasks look them up by conn id (see ``include.warehouse.connection``).
* Telemetry off: Cosmos, GX, Airflow's usage data, Scarf.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from include.config import DAGS_DIR, PROJECT_ROOT, StatePaths, paths
from include.warehouse.connection import ROLES, dsn_parts, libpq_url, role_url

CONN_IDS = {role: f"supervision_{role}" for role in ROLES}


def _jwt_secret(state: StatePaths) -> str:
    f = state.secrets / "airflow_jwt_secret"
    if not f.exists():
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(secrets.token_urlsafe(32))
        os.chmod(f, 0o600)
    return f.read_text().strip()


def airflow_env(state: StatePaths | None = None, with_connections: bool = True,
                port: str | None = None) -> dict[str, str]:
    """The environment of this installation's Airflow; ``port``: the API server's (default $AIRFLOW__API__PORT
    or 8080), which scheduled tasks' supervisors reach too."""
    state = state or paths()
    port = str(port or os.environ.get("AIRFLOW__API__PORT", "8080"))
    home = state.airflow_home
    env = {
        "SUPERVISION_HOME": str(state.home),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": port,
        # where a scheduled task's supervisor reaches the API server (Airflow's default assumes port 8080)
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": _jwt_secret(state),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__COSMOS__CACHE_DIR": str(state.home / "cosmos_cache"),
        "AIRFLOW__COSMOS__PROPAGATE_LOGS": "False",
        # Cosmos' default re-writes the producer's whole XCom backup (every node's result and compiled SQL,
        # compressed) to an Airflow Variable on each of its ~2,300 pushes: quadratic, half of an unchanged
        # build's producer time. Off, the backup is still written once when the producer fails (its failure
        # and retry callbacks), and a retry restores it from there.
        "AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY": "False",
        "DO_NOT_TRACK": "1",
        "SCARF_ANALYTICS": "false",
        "GX_ANALYTICS_ENABLED": "False",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DBT_TARGET_PATH": str(state.dbt_target),
        "DBT_LOG_PATH": str(state.dbt_logs),
        "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }
    if with_connections:
        for role, conn_id in CONN_IDS.items():
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = libpq_url(role_url(role, state))
        env.update(dbt_env(state))
    return env


def dbt_env(state: StatePaths | None = None, role: str = "transformer") -> dict[str, str]:
    """The variables dbt_project/profiles.yml reads (used outside Airflow: parse, docs, bench)."""
    parts = dsn_parts(role_url(role, state))
    return {
        "SUPERVISION_DBT_HOST": parts["host"],
        "SUPERVISION_DBT_PORT": parts["port"],
        "SUPERVISION_DBT_USER": parts["user"],
        "SUPERVISION_DBT_PASSWORD": parts["password"],
        "SUPERVISION_DBT_DBNAME": parts["dbname"],
    }


def apply(env: dict[str, str]) -> None:
    """Put ``env`` into this process before anything imports airflow."""
    if "airflow" in sys.modules and os.environ.get("AIRFLOW_HOME") != env["AIRFLOW_HOME"]:
        raise RuntimeError("airflow was imported before its environment was set")
    os.environ.update(env)


def ensure_metadata_db(state: StatePaths | None = None) -> bool:
    """Migrate the SQLite metadata DB once (a stamp file records it). Returns True if it ran now."""
    state = state or paths()
    home = state.airflow_home
    home.mkdir(parents=True, exist_ok=True)
    stamp = home / ".migrated"
    import importlib.metadata as md

    version = md.version("apache-airflow")
    if stamp.exists() and stamp.read_text().strip() == version and (home / "airflow.db").exists():
        return False
    env = {**os.environ, **airflow_env(state, with_connections=False)}
    proc = subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    stamp.write_text(version)
    return True
