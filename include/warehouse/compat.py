"""Which PostgreSQL servers the warehouse runs on, checked before anything is created on one.

Supported: PostgreSQL 14 or later (16 is the embedded default, 15 tested too; 14 and 15 get a fallback for
the one function they lack, ``pg_input_is_valid``: migration 080). Needed from the server: the
``plpgsql`` language (the check functions and the fallback) and, for the bootstrap, an administrator
that can create roles. No extension is required. :func:`check_server` returns one clear line per
problem; ``supervision up`` refuses with it (exit code 2) instead of failing deep inside a DAG.
"""

from __future__ import annotations

MIN_VERSION = 140000
TESTED_MAJOR = (15, 16)


class UnsupportedServer(RuntimeError):
    pass


def server_problems(conn) -> list[str]:
    """What keeps this server (a psycopg connection as the administrator) from hosting the warehouse."""
    num = int(conn.execute("select current_setting('server_version_num')").fetchone()[0])
    version = conn.execute("select current_setting('server_version')").fetchone()[0]
    problems = []
    if num < MIN_VERSION:
        problems.append(f"PostgreSQL {version} is not supported: the warehouse needs PostgreSQL 14 or later "
                        f"(tested on {' and '.join(map(str, TESTED_MAJOR))})")
    if not conn.execute("select 1 from pg_language where lanname = 'plpgsql'").fetchone():
        problems.append("the plpgsql language is missing on the server (create extension plpgsql)")
    can_roles = conn.execute("select rolsuper or rolcreaterole from pg_roles where rolname = current_user"
                             ).fetchone()
    if not (can_roles and can_roles[0]):
        problems.append("the SUPERVISION_DATABASE_URL user can not create roles (needs CREATEROLE or superuser "
                        "for the least-privilege roles loader, transformer, scorer, ...)")
    return problems


def check_server(conn) -> None:
    problems = server_problems(conn)
    if problems:
        raise UnsupportedServer("; ".join(problems))
