"""The embedded warehouse: a real PostgreSQL 16 from the ``pgserver`` wheel, managed explicitly.

We drive the bundled ``initdb`` / ``pg_ctl`` ourselves instead of ``pgserver.get_server()`` because
that API listens on a unix socket only and stops the server from an ``atexit`` hook. Here:

* ``up()`` initialises the data directory once (``scram-sha-256`` on TCP, trust on the private
  socket), then starts PostgreSQL listening on 127.0.0.1:<port> and on a socket directory, and waits
  until it accepts connections. It is idempotent: a running server is left alone; a stale pid file
  left by a killed server is cleaned up by ``pg_ctl`` itself.
* ``down()`` stops it (fast shutdown), ``status()`` reports it.

The data directory lives in the state directory (``$SUPERVISION_HOME``, default
``~/.local/share/supervision``), never inside the repository: as root, PostgreSQL must run as an
unprivileged system user (``pgserver``), which needs the directory's parents to be traversable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from include.config import StatePaths, paths

log = logging.getLogger(__name__)

SUPERUSER = "postgres"
DATABASE = "supervision"
SYSTEM_USER = "pgserver"
# Settings passed on every start (so existing installations get them too, unlike postgresql.conf, written once
# by initdb). wal_level minimal: a table created and filled in one transaction (every dbt table model: CREATE
# TABLE AS, then a rename) is written without WAL, fsynced at commit instead; the embedded server has no
# replicas or WAL archive (max_wal_senders must be 0 with it). Measured in bench/README.md "Warehouse".
START_SETTINGS = {"wal_level": "minimal", "max_wal_senders": "0"}


def _pg_bin_dir() -> Path:
    """pgserver's bundled PostgreSQL binaries, found without importing the package (its import
    creates a lock directory under $XDG_RUNTIME_DIR or /tmp as a side effect)."""
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pgserver wheel is not installed: pip install -r requirements.txt")
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"


def _bin(name: str) -> str:
    return str(_pg_bin_dir() / name)


def _ensure_system_user() -> None:
    import pwd

    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SYSTEM_USER],
                       check=True, capture_output=True)


def _make_traversable(path: Path) -> None:
    """Let the unprivileged server user reach ``path``: o+x on every parent (not o+r)."""
    import stat

    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH | stat.S_IXGRP)


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


class NotRunning(RuntimeError):
    """A command needs the embedded server and it is not running (the CLI says so in one line)."""


@dataclass
class ServerInfo:
    pgdata: Path
    running: bool
    pid: int | None = None
    host: str = "127.0.0.1"
    port: int | None = None
    socket_dir: str | None = None

    def as_dict(self) -> dict:
        return {
            "pgdata": str(self.pgdata),
            "running": self.running,
            "pid": self.pid,
            "host": self.host,
            "port": self.port,
            "socket_dir": self.socket_dir,
        }


class EmbeddedServer:
    """One PostgreSQL cluster in ``<state>/pgdata``."""

    def __init__(self, state: StatePaths | None = None):
        self.state = state or paths()
        self.pgdata = self.state.pgdata
        self.secrets_dir = self.state.secrets
        self.runtime_file = self.state.home / "warehouse.json"

    # ---------------------------------------------------------------- helpers
    def _run(self, args: list[str], timeout: float = 120) -> str:
        kwargs: dict = {}
        if _running_as_root():
            kwargs["user"] = SYSTEM_USER
        with tempfile.TemporaryFile("w+") as out:
            # pg_ctl can hang on captured pipes (its child inherits them): use a file.
            proc = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                                  **kwargs)
            out.seek(0)
            text = out.read()
        if proc.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed ({proc.returncode}): {text.strip()}")
        return text

    def _superuser_password_file(self) -> Path:
        return self.secrets_dir / "postgres_superuser_password"

    def superuser_password(self) -> str:
        return self._superuser_password_file().read_text().strip()

    def _prepare_dirs(self) -> None:
        self.state.home.mkdir(parents=True, exist_ok=True)
        self.secrets_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.secrets_dir, 0o700)
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if _running_as_root():
            import pwd

            _ensure_system_user()
            _make_traversable(self.pgdata)
            bins = _pg_bin_dir()
            _make_traversable(bins)
            for d in (bins, bins.parent / "lib", bins.parent / "share"):
                for f in [d, *d.rglob("*")]:
                    if f.is_dir():
                        f.chmod(f.stat().st_mode | 0o055)
                    else:
                        f.chmod(f.stat().st_mode | (0o055 if d == bins else 0o044))
            pw = pwd.getpwnam(SYSTEM_USER)
            os.chown(self.pgdata, pw.pw_uid, pw.pw_gid)

    def _initdb(self) -> None:
        pwfile = self._superuser_password_file()
        if not pwfile.exists():
            pwfile.write_text(secrets.token_urlsafe(24))
            os.chmod(pwfile, 0o600)
        # initdb (run as the system user when root) must read the password: hand it a private copy.
        with tempfile.NamedTemporaryFile("w", delete=False, dir=self.state.home, prefix=".pw") as tmp:
            tmp.write(self.superuser_password())
        try:
            if _running_as_root():
                import pwd

                pw = pwd.getpwnam(SYSTEM_USER)
                os.chown(tmp.name, pw.pw_uid, pw.pw_gid)
            os.chmod(tmp.name, 0o600)
            self._run([_bin("initdb"), "-D", str(self.pgdata), "-U", SUPERUSER, f"--pwfile={tmp.name}",
                       "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8",
                       "--locale=C", "--no-instructions"])
        finally:
            Path(tmp.name).unlink(missing_ok=True)
        # Listen on loopback only; modest settings for a laptop / CI box.
        with open(self.pgdata / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# supervision embedded defaults\n"
                "listen_addresses = '127.0.0.1'\n"
                "max_connections = 100\n"
                "shared_buffers = 256MB\n"
                "work_mem = 32MB\n"
                "maintenance_work_mem = 256MB\n"
                "synchronous_commit = on\n"
                "max_wal_size = 2GB\n"
                "timezone = 'Asia/Shanghai'\n"
                "log_min_messages = warning\n"
                # no row data in the server log (issue #14): an error's DETAIL and CONTEXT (COPY quotes
                # the offending line there) and the failing statement (with its literals) are not logged
                "log_error_verbosity = terse\n"
                "log_min_error_statement = panic\n"
                "log_file_mode = 0600\n"
            )

    def _socket_dir(self) -> Path:
        candidate = self.pgdata
        if len(str(candidate / ".s.PGSQL.65535")) < 100:
            return candidate
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        alt = Path(tempfile.gettempdir()) / f"supervision-{digest}"
        alt.mkdir(exist_ok=True)
        os.chmod(alt, 0o700)
        if _running_as_root():
            import pwd

            pw = pwd.getpwnam(SYSTEM_USER)
            os.chown(alt, pw.pw_uid, pw.pw_gid)
        return alt

    @staticmethod
    def _free_port() -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def _read_postmaster(self) -> ServerInfo:
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return ServerInfo(self.pgdata, running=False)
        lines = pidfile.read_text().splitlines()
        try:
            pid = int(lines[0])
            port = int(lines[3])
            sock = lines[4] or None
            status = lines[7].strip() if len(lines) > 7 else ""
        except (IndexError, ValueError):
            return ServerInfo(self.pgdata, running=False)
        alive = _pid_alive(pid)
        return ServerInfo(self.pgdata, running=alive and status == "ready", pid=pid, port=port, socket_dir=sock)

    # ------------------------------------------------------------------- API
    def status(self) -> ServerInfo:
        return self._read_postmaster()

    def up(self, port: int | None = None, timeout: float = 60, create_database: bool = True) -> ServerInfo:
        self._prepare_dirs()
        if not (self.pgdata / "PG_VERSION").exists():
            log.info("initialising PostgreSQL data directory %s", self.pgdata)
            self._initdb()
        info = self._read_postmaster()
        if info.running:
            return info
        stale = self.pgdata / "postmaster.pid"
        if stale.exists() and info.pid and not _pid_alive(info.pid):
            # A server killed with SIGKILL leaves its pid file; pg_ctl refuses to start while the
            # recorded pid is alive (possibly reused by another process), so remove it explicitly.
            log.warning("removing stale postmaster.pid (pid %s is not running)", info.pid)
            stale.unlink()
        port = port or self._remembered_port() or self._free_port()
        sock = self._socket_dir()
        logfile = self.pgdata / "server.log"
        options = " ".join(f"-c {name}={value}" for name, value in START_SETTINGS.items())
        start = [_bin("pg_ctl"), "-D", str(self.pgdata), "-w", "-t", str(int(timeout)),
                 "-l", str(logfile), "-o", f"-h 127.0.0.1 -p {port} -k {sock} {options}", "start"]
        # After a SIGKILL the old server's children take a moment to notice and release shared
        # memory; a start in that window fails ("pre-existing shared memory block"): retry briefly.
        for attempt in range(6):
            try:
                self._run(start, timeout=timeout + 10)
                break
            except RuntimeError as e:
                if attempt == 5:
                    tail = logfile.read_text()[-2000:] if logfile.exists() else ""
                    raise RuntimeError(f"{e}\n--- {logfile} (tail) ---\n{tail}") from None
                time.sleep(1.0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self._read_postmaster()
            if info.running:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"PostgreSQL did not become ready; see {logfile}")
        self.runtime_file.write_text(json.dumps(info.as_dict(), indent=2))
        os.chmod(self.runtime_file, 0o600)
        if create_database:
            self._ensure_database()
        return info

    def _remembered_port(self) -> int | None:
        if not self.runtime_file.exists():
            return None
        try:
            port = int(json.loads(self.runtime_file.read_text())["port"])
        except (ValueError, KeyError, TypeError):
            return None
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return None
        return port

    def down(self, timeout: float = 60) -> bool:
        """Stop the server. Returns True if one was running."""
        info = self._read_postmaster()
        if not info.running:
            return False
        self._run([_bin("pg_ctl"), "-D", str(self.pgdata), "-w", "-t", str(int(timeout)), "-m", "fast",
                   "stop"], timeout=timeout + 10)
        return True

    def destroy(self) -> None:
        """Stop and delete the data directory (tests, `make clean-state`)."""
        self.down()
        shutil.rmtree(self.pgdata, ignore_errors=True)

    def admin_url(self, database: str = DATABASE) -> str:
        info = self._read_postmaster()
        if not info.running:
            raise NotRunning("the embedded warehouse is not running; start it with `supervision up`")
        from urllib.parse import quote

        return (f"postgresql+psycopg://{SUPERUSER}:{quote(self.superuser_password(), safe='')}"
                f"@{info.host}:{info.port}/{database}")

    def _ensure_database(self) -> None:
        import psycopg

        url = self.admin_url("postgres").replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone()
            if not exists:
                conn.execute(f'create database "{DATABASE}"')


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as dead.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True
