"""How the pipeline reaches the warehouse.

* ``SUPERVISION_DATABASE_URL`` set: that server is used (an administrator URL, used only to
  bootstrap); nothing is started.
* otherwise: the embedded server in the state directory (``include.warehouse.server``).

Every pipeline component connects as its own least-privilege role (``loader``, ``transformer``,
``scorer``, ``bi_reader``, ``auditor``). Role passwords are generated on first bootstrap into
``<state>/secrets/roles.json`` (mode 0600, outside the repository); ``bootstrap`` (re)applies them
to the server, so rotating a password is: edit or delete the entry, run ``supervision up``.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from include.config import StatePaths, paths

ROLES = ("loader", "transformer", "scorer", "bi_reader", "auditor")


def external_url() -> str | None:
    url = os.environ.get("SUPERVISION_DATABASE_URL")
    return url or None


def _normalise(url: str) -> str:
    """SQLAlchemy URL with the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg2://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def libpq_url(url: str) -> str:
    """A plain libpq URL (psycopg.connect, psql) from a SQLAlchemy one."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def admin_url(state: StatePaths | None = None) -> str:
    ext = external_url()
    if ext:
        return _normalise(ext)
    from include.warehouse.server import EmbeddedServer

    return EmbeddedServer(state).admin_url()


def ensure_up(state: StatePaths | None = None) -> str:
    """Start the embedded server if we own it; return the admin URL."""
    if external_url():
        return admin_url(state)
    from include.warehouse.server import EmbeddedServer

    EmbeddedServer(state).up()
    return admin_url(state)


def _roles_file(state: StatePaths | None) -> Path:
    return (state or paths()).secrets / "roles.json"


def role_passwords(state: StatePaths | None = None, create: bool = False) -> dict[str, str]:
    """Each role's password: ``SUPERVISION_<ROLE>_PASSWORD`` from the environment if set (how
    docker-compose or a secret manager supplies them), else the generated secrets file."""
    f = _roles_file(state)
    data: dict[str, str] = json.loads(f.read_text()) if f.exists() else {}
    from_env = {r: os.environ[f"SUPERVISION_{r.upper()}_PASSWORD"] for r in ROLES
                if os.environ.get(f"SUPERVISION_{r.upper()}_PASSWORD")}
    if len(from_env) == len(ROLES):
        return from_env
    missing = [r for r in ROLES if r not in data]
    if missing and create:
        for r in missing:
            data[r] = secrets.token_urlsafe(24)
        f.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(f.parent, 0o700)
        tmp = f.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        os.chmod(tmp, 0o600)
        tmp.replace(f)
    elif missing:
        raise RuntimeError(f"no password for roles {missing}; run `supervision up` first")
    return {**data, **from_env}


def role_url(role: str, state: StatePaths | None = None) -> str:
    """SQLAlchemy URL for ``role`` on the same server and database as the admin URL."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles are {ROLES}")
    base = urlsplit(admin_url(state))
    pw = role_passwords(state)[role]
    host = base.hostname or "127.0.0.1"
    netloc = f"{role}:{quote(pw, safe='')}@{host}" + (f":{base.port}" if base.port else "")
    return urlunsplit((base.scheme, netloc, base.path, base.query, ""))


def dsn_parts(url: str) -> dict[str, str]:
    """host/port/user/password/dbname of a URL (for dbt's profile and Airflow connections)."""
    from urllib.parse import unquote

    u = urlsplit(url)
    return {
        "host": u.hostname or "127.0.0.1",
        "port": str(u.port or 5432),
        "user": unquote(u.username or ""),
        "password": unquote(u.password or ""),
        "dbname": u.path.lstrip("/") or "postgres",
    }


def airflow_conn_url(conn_id: str) -> str:
    """SQLAlchemy URL of an Airflow Postgres connection (``AIRFLOW_CONN_*`` or the metadata DB)."""
    from airflow.sdk import Connection

    c = Connection.get(conn_id)
    netloc = f"{quote(c.login or '', safe='')}:{quote(c.password or '', safe='')}@{c.host}:{c.port or 5432}"
    return f"postgresql+psycopg://{netloc}/{c.schema}"
