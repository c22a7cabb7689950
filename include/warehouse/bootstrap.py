"""Idempotent warehouse bootstrap: roles, schemas, grants, ops tables, raw tables.

Migrations are the SQL files in ``migrations/`` applied in name order and recorded in
``ops.schema_migrations`` with a checksum (an edited, already-applied migration is an error: add a
new one instead). A file starting with ``-- run-as: <role>`` runs under ``SET ROLE <role>`` so the
objects it creates are owned by that role. The raw and quarantine tables are derived from the
dataset registry, the ``raw_ext`` feed tables from the feed registry, all created as ``loader``.
Running bootstrap twice changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import psycopg
from psycopg import sql

from include.config import StatePaths
from include.registry import ddl
from include.registry.datasets import DATASETS
from include.registry.feeds import FEEDS
from include.warehouse.connection import ROLES, admin_url, libpq_url, role_passwords

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
_RUN_AS = re.compile(r"^--\s*run-as:\s*(\w+)", re.M)


def _ensure_roles(conn: psycopg.Connection, passwords: dict[str, str]) -> None:
    for role in ROLES:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
        # Least privilege: no superuser, no role/database creation, no inheritance of others.
        conn.execute(sql.SQL("alter role {} login nosuperuser nocreatedb nocreaterole noreplication "
                             "nobypassrls password {}").format(sql.Identifier(role),
                                                               sql.Literal(passwords[role])))


def migrations() -> list[Path]:
    return sorted(MIGRATIONS.glob("*.sql"))


def bootstrap(state: StatePaths | None = None) -> list[str]:
    """Apply what is missing; return the names of the migrations applied now."""
    passwords = role_passwords(state, create=True)
    applied_now: list[str] = []
    with psycopg.connect(libpq_url(admin_url(state)), autocommit=True) as conn:
        from include.warehouse.compat import check_server

        check_server(conn)  # one clear line (UnsupportedServer) before anything is created
        _ensure_roles(conn, passwords)
        conn.execute("create schema if not exists ops authorization loader")
        conn.execute("""create table if not exists ops.schema_migrations (
                            name text primary key, sha256 text not null,
                            applied_at timestamptz not null default now())""")
        conn.execute("alter table ops.schema_migrations owner to loader")
        done = dict(conn.execute("select name, sha256 from ops.schema_migrations").fetchall())
        for path in migrations():
            text = path.read_text()
            digest = hashlib.sha256(text.encode()).hexdigest()
            if path.name in done:
                if done[path.name] != digest:
                    raise RuntimeError(f"migration {path.name} was edited after it was applied; "
                                       "add a new migration instead")
                continue
            m = _RUN_AS.search(text)
            with conn.transaction():
                if m:
                    conn.execute(sql.SQL("set local role {}").format(sql.Identifier(m.group(1))))
                conn.execute(text)
                conn.execute("reset role")
                conn.execute("insert into ops.schema_migrations (name, sha256) values (%s, %s)",
                             (path.name, digest))
            log.info("applied migration %s", path.name)
            applied_now.append(path.name)
        with conn.transaction():
            conn.execute("set local role loader")
            for ds in DATASETS.values():
                conn.execute(ddl.raw_ddl(ds))
                conn.execute(ddl.quarantine_ddl(ds))
            for feed in FEEDS.values():
                conn.execute(ddl.feed_ddl(feed))
    return applied_now
