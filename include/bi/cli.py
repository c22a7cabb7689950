"""`supervision bi up|down|status`: Apache Superset for supervisors, provisioned as code (#15).

* Superset lives in a virtualenv of its own (its pins conflict with Airflow's), installed from
  `bi/constraints.txt` into ``$SUPERVISION_BI_VENV`` or ``~/.cache/supervision/superset-<hash>``, the hash
  being that of the constraints file: a fresh clone reuses an existing venv and builds one when missing.
* Metadata (SQLite), logs and pid under ``$SUPERVISION_HOME/bi/``; served on 127.0.0.1 only.
* Secrets, generated on first `up` into ``$SUPERVISION_HOME/secrets/`` (0600): ``superset_secret_key``
  and ``bi_logins.json`` (the Superset ``admin`` password and one password per bureau login
  ``sup_<code>``, used both as that bureau's Superset login and as its PostgreSQL role's password).
  Rotation: delete an entry (or the file) and run `up` again; the new password is set in PostgreSQL and
  in Superset. The secret key is never rotated by `up` (it encrypts the stored connection).
* Datasets, charts and dashboards: `bi/assets/` (Superset's YAML export format), imported on every `up`.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

from include.config import PROJECT_ROOT, StatePaths, paths

BI_DIR = PROJECT_ROOT / "bi"
CONSTRAINTS = BI_DIR / "constraints.txt"
ASSETS = BI_DIR / "assets"
BUREAU_SEED = PROJECT_ROOT / "dbt_project" / "seeds" / "bureaus.csv"
SUPERSET_CONFIG = Path(__file__).resolve().parent / "superset_config.py"
PROVISION = Path(__file__).resolve().parent / "provision.py"
SUPERSET_PIN = "apache-superset==6.1.0"
DEFAULT_PORT = 8088
# the warehouse driver, and what 6.1.0 imports without declaring it (versions from the constraints)
EXTRA_PACKAGES = ("psycopg2-binary", "cachetools", "rich")


class BiError(Exception):
    """A user-facing failure: one line, exit code 2."""


def venv_dir() -> Path:
    env = os.environ.get("SUPERVISION_BI_VENV")
    if env:
        return Path(env).expanduser()
    what = CONSTRAINTS.read_bytes() + " ".join((SUPERSET_PIN, *EXTRA_PACKAGES)).encode()
    digest = hashlib.sha256(what).hexdigest()[:12]
    return Path.home() / ".cache" / "supervision" / f"superset-{digest}"


def install(quiet: bool = True) -> Path:
    """Create the Superset virtualenv unless a complete one exists (its stamp is written last)."""
    venv = venv_dir()
    stamp = venv / ".supervision-installed"
    if stamp.exists():
        return venv
    if venv.exists():
        shutil.rmtree(venv)  # an interrupted install
    venv.parent.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    q = ["--quiet"] if quiet else []
    pip = [str(venv / "bin" / "python"), "-m", "pip", *q, "--disable-pip-version-check"]
    proc = subprocess.run([*pip, "install", "-c", str(CONSTRAINTS), SUPERSET_PIN, *EXTRA_PACKAGES],
                          capture_output=quiet, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or "").strip().splitlines()[-1:] if quiet else []
        raise BiError(f"installing Superset into {venv} failed: {tail[0] if tail else 'see pip output'}")
    stamp.write_text(SUPERSET_PIN + "\n")
    return venv


def bureaus() -> list[list[str]]:
    with BUREAU_SEED.open(encoding="utf-8") as f:
        return [[r["bureau_code"], r["bureau_name_zh"], r["bureau_name_en"]] for r in csv.DictReader(f)]


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def logins(state: StatePaths, create: bool = False) -> dict:
    """{"admin": pw, "postgres": {"sup_<code>": pw}}; missing entries generated when `create`."""
    f = state.secrets / "bi_logins.json"
    data = json.loads(f.read_text()) if f.exists() else {}
    if not create:
        if not data:
            raise BiError(f"no BI logins in {f}; run `supervision bi up` first")
        return data
    changed = not f.exists()
    if "admin" not in data:
        data["admin"], changed = secrets.token_urlsafe(18), True
    pg = data.setdefault("postgres", {})
    for code, _zh, _en in bureaus():
        if f"sup_{code.lower()}" not in pg:
            pg[f"sup_{code.lower()}"], changed = secrets.token_urlsafe(18), True
    if changed:
        _write_private(f, json.dumps(data, indent=2))
    secret_key = state.secrets / "superset_secret_key"
    if not secret_key.exists():
        _write_private(secret_key, secrets.token_urlsafe(48) + "\n")
    return data


def _apply_postgres_passwords(state: StatePaths, data: dict) -> None:
    import psycopg
    from psycopg import sql

    from include.warehouse.connection import admin_url, libpq_url

    with psycopg.connect(libpq_url(admin_url(state)), autocommit=True) as conn:
        existing = {r[0] for r in conn.execute("select rolname from pg_roles where rolname like 'sup\\_%'")}
        for role, password in data["postgres"].items():
            if role not in existing:
                raise BiError(f"PostgreSQL role {role} does not exist: the bureau seed and migration "
                              "020_bureau_rls.sql disagree; add the bureau with security.ensure_bureau_roles")
            conn.execute(sql.SQL("alter role {} login password {}").format(
                sql.Identifier(role), sql.Literal(password)))


def superset_env(state: StatePaths, venv: Path) -> dict[str, str]:
    from include.warehouse.connection import admin_url, dsn_parts

    home = state.home / "bi"
    (home / "uploads").mkdir(parents=True, exist_ok=True)
    for d in (home, home / "uploads"):
        os.chmod(d, 0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update({
        "SUPERSET_CONFIG_PATH": str(SUPERSET_CONFIG),
        "SUPERVISION_BI_HOME": str(home),
        "SUPERVISION_BI_SECRETS": str(state.secrets),
        "SUPERVISION_BI_WAREHOUSE_DB": dsn_parts(admin_url(state))["dbname"],
        "FLASK_APP": "superset",
        "SUPERSET_LOAD_EXAMPLES": "no",
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    })
    return env


def _run(cmd: list[str], env: dict, what: str, stdin: str | None = None) -> str:
    # umask 077: Superset's metadata, log and pid files are private like the rest of the state directory
    proc = subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True,
                          preexec_fn=lambda: os.umask(0o077))
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stdout + proc.stderr).strip().splitlines() if ln.strip()]
        raise BiError(f"{what} failed: {lines[-1] if lines else f'exit {proc.returncode}'}")
    return proc.stdout


def _warehouse_uri(state: StatePaths) -> str:
    from include.warehouse.connection import role_url

    return role_url("bi_reader", state).replace("postgresql+psycopg://", "postgresql+psycopg2://", 1)


def write_dq_pages(state: StatePaths) -> dict[str, int]:
    """Regenerate the offline DQ pages (served by Superset at /supervision/dq/)."""
    import psycopg

    from include.bi.dq_pages import generate
    from include.warehouse.connection import role_url

    try:
        return generate(state, role_url("transformer", state))
    except psycopg.errors.UndefinedTable as e:
        raise BiError(f"the warehouse is not built yet ({e.diag.message_primary}); run the pipeline first") from e


def _pidfile(state: StatePaths) -> Path:
    return state.home / "bi" / "superset.pid"


def _running_pid(state: StatePaths) -> int | None:
    f = _pidfile(state)
    try:
        pid = int(f.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _port_file(state: StatePaths) -> Path:
    return state.home / "bi" / "port"


def url(state: StatePaths | None = None) -> str:
    state = state or paths()
    port = _port_file(state).read_text().strip() if _port_file(state).exists() else DEFAULT_PORT
    return f"http://127.0.0.1:{port}"


def _wait_healthy(base: str, timeout: float, state: StatePaths) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if _running_pid(state) is None and time.monotonic() > deadline - timeout + 5:
            break
        time.sleep(1)
    raise BiError(f"Superset did not become healthy at {base}; see {state.home / 'bi' / 'superset.log'}")


def _wal(db: Path) -> None:
    """The metadata file in WAL mode (kept in the file): chart requests reading it never wait for a request
    writing Superset's event log (pysqlite's "database is locked" otherwise possible under load)."""
    import sqlite3

    with closing(sqlite3.connect(db, timeout=30)) as conn:
        conn.execute("pragma journal_mode=wal")


def up(state: StatePaths, port: int = DEFAULT_PORT, quiet: bool = True, host: str = "127.0.0.1",
       foreground: bool = False) -> str:
    """Install (once), provision, start. `foreground` replaces this process with Superset (containers);
    `host` other than 127.0.0.1 only inside a container whose port is published on the host's 127.0.0.1."""
    from include.warehouse.connection import ensure_up

    venv = install(quiet=quiet)
    ensure_up(state)
    data = logins(state, create=True)
    _apply_postgres_passwords(state, data)
    env = superset_env(state, venv)
    superset = str(venv / "bin" / "superset")
    stamp = state.home / "bi" / "metadata.version"
    if not stamp.exists() or stamp.read_text() != SUPERSET_PIN:
        _run([superset, "db", "upgrade"], env, "superset db upgrade")
        _run([superset, "init"], env, "superset init")
        stamp.write_text(SUPERSET_PIN)
    _wal(state.home / "bi" / "superset.db")
    cfg = {"assets": str(ASSETS), "warehouse_uri": _warehouse_uri(state), "bureaus": bureaus(),
           "admin_password": data["admin"], "users": data["postgres"]}
    _run([str(venv / "bin" / "python"), str(PROVISION)], env, "importing bi/assets", stdin=json.dumps(cfg))
    write_dq_pages(state)
    # --capture-output: Superset's own warnings and errors (its stderr) into superset.log, which a daemon
    # would otherwise send to /dev/null
    gunicorn = [str(venv / "bin" / "gunicorn"), "--workers", "1", "--threads", "8", "--timeout", "120",
                "--bind", f"{host}:{port}", "--log-level", "warning", "--capture-output"]
    if foreground:
        os.umask(0o077)
        os.execve(gunicorn[0], [*gunicorn, "superset.app:create_app()"], env)
    if _running_pid(state) is None:
        log = state.home / "bi" / "superset.log"
        _run([*gunicorn, "--daemon", "--pid", str(_pidfile(state)), "--error-logfile", str(log),
              "superset.app:create_app()"], env, "starting Superset")
        _port_file(state).write_text(str(port))
    base = url(state)
    _wait_healthy(base, 120, state)
    # gunicorn's daemon sets umask 022 and makes its pid file 0644: private like the rest of the state
    for f in (state.home / "bi" / "superset.log", _pidfile(state), _port_file(state), stamp):
        if f.exists():
            os.chmod(f, 0o600)
    return base


def down(state: StatePaths, timeout: float = 30) -> bool:
    pid = _running_pid(state)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _running_pid(state) is not None:
        time.sleep(0.3)
    if _running_pid(state) is not None:
        os.kill(pid, signal.SIGKILL)
    _pidfile(state).unlink(missing_ok=True)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="supervision bi", description="Apache Superset for supervisors.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="install (once), provision users and dashboards, start on 127.0.0.1")
    p_up.add_argument("--port", type=int, default=int(os.environ.get("SUPERVISION_BI_PORT", DEFAULT_PORT)))
    p_up.add_argument("--verbose", action="store_true", help="show pip's output while installing")
    p_up.add_argument("--host", default="127.0.0.1", help="bind address (0.0.0.0 only inside a container)")
    p_up.add_argument("--foreground", action="store_true", help="run Superset in this process (containers)")
    sub.add_parser("down", help="stop Superset")
    sub.add_parser("status", help="is Superset running, where, and the venv")
    sub.add_parser("install", help="only build the Superset virtualenv").add_argument(
        "--verbose", action="store_true", help="show pip's output")
    sub.add_parser("dq-pages", help="regenerate the offline data-quality pages (also done by `up`)")
    args = ap.parse_args(argv)
    state = paths()
    try:
        if args.cmd == "install":
            print(install(quiet=not args.verbose))
        elif args.cmd == "up":
            base = up(state, args.port, quiet=not args.verbose, host=args.host, foreground=args.foreground)
            print(f"Superset: {base}/dashboard/list/  (logins: admin or sup_<bureau>, passwords in "
                  f"{state.secrets / 'bi_logins.json'})")
        elif args.cmd == "dq-pages":
            counts = write_dq_pages(state)
            print(f"{sum(counts.values())} DQ pages for {len(counts)} bureaus in {state.home / 'bi' / 'dq_pages'}")
        elif args.cmd == "down":
            print("Superset stopped" if down(state) else "Superset was not running")
        elif args.cmd == "status":
            pid = _running_pid(state)
            print(f"Superset: {'running at ' + url(state) + f' (pid {pid})' if pid else 'not running'}; "
                  f"venv {venv_dir()}{'' if (venv_dir() / '.supervision-installed').exists() else ' (not installed)'}")
    except BiError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
