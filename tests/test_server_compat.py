"""Which PostgreSQL servers the warehouse accepts (include/warehouse/compat.py) and the type check that
replaces pg_input_is_valid on PostgreSQL 14/15 (migration 080).

Run against the embedded PostgreSQL 16 by default; with SUPERVISION_DATABASE_URL pointing at a
PostgreSQL 15 server the same tests exercise the fallback as installed (bench/README.md: "External
PostgreSQL 15")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from include.warehouse.compat import UnsupportedServer, check_server, server_problems
from include.warehouse.connection import libpq_url

MIGRATION = Path(__file__).parents[1] / "include" / "warehouse" / "migrations" / "080_input_is_valid.sql"

# (value, type, valid?) — what PostgreSQL's input functions accept, typmods included
CASES = [
    ("2024-02-29", "date", True), ("2023-02-29", "date", False), ("2024-13-01", "date", False),
    ("", "date", False), ("12.5", "numeric", True), ("1e3", "numeric", True), ("abc", "numeric", False),
    ("12345678901234567.12", "numeric(18,2)", False), ("1234567890123456.12", "numeric(18,2)", True),
    ("42", "integer", True), ("4.2", "integer", False), ("99999999999", "integer", False),
    ("99999999999", "bigint", True), ("true", "boolean", True), ("maybe", "boolean", False),
    ("2024-01-01 10:00:00+08", "timestamptz", True), ("yesterday-ish", "timestamptz", False),
    (" 7 ", "integer", True), ("NaN", "numeric", True),
]


def _agree(conn, fn: str) -> list:
    wrong = []
    for value, type_name, expected in CASES:
        got = conn.execute(f"select {fn}(%s, %s)", (value, type_name)).fetchone()[0]
        if got is not expected:
            wrong.append((value, type_name, got, expected))
    return wrong


def test_this_server_is_supported(warehouse):
    with warehouse.connect(autocommit=True) as conn:
        assert server_problems(conn) == []
        check_server(conn)


def test_input_is_valid_as_installed_agrees_with_the_type_input_functions(warehouse):
    with warehouse.connect("loader", autocommit=True) as conn:
        assert _agree(conn, "ops.input_is_valid") == []
        assert conn.execute("select ops.input_is_valid(null, 'date')").fetchone()[0] is None


def test_the_14_15_fallback_agrees_too_and_refuses_a_non_type(warehouse):
    """The plpgsql branch of migration 080, installed into a scratch schema whatever this server's version."""
    text = MIGRATION.read_text()
    body = text[text.index("create or replace function", text.index("else")):text.index("$f$;", text.index("else"))]
    with warehouse.connect(autocommit=True) as conn:
        conn.execute("drop schema if exists compat_fallback cascade")
        conn.execute("create schema compat_fallback")
        try:
            conn.execute(body.replace("ops.input_is_valid", "compat_fallback.input_is_valid"))
            assert _agree(conn, "compat_fallback.input_is_valid") == []
            with pytest.raises(Exception, match="not a type name"):
                conn.execute("select compat_fallback.input_is_valid('1', 'int; drop table x')")
        finally:
            conn.execute("drop schema compat_fallback cascade")


def test_a_user_that_cannot_create_roles_is_refused_in_one_line(warehouse):
    with warehouse.connect("loader", autocommit=True) as conn:
        problems = server_problems(conn)
        assert len(problems) == 1 and "can not create roles" in problems[0]
        with pytest.raises(UnsupportedServer):
            check_server(conn)


def test_up_refuses_an_unsuitable_server_with_one_line_and_exit_2(warehouse, tmp_path):
    env = {**os.environ, "SUPERVISION_HOME": str(tmp_path / "home"),
           "SUPERVISION_DATABASE_URL": libpq_url(warehouse.role_url("loader"))}
    proc = subprocess.run([sys.executable, "-m", "include.cli", "up"], env=env, capture_output=True, text=True,
                          cwd=Path(__file__).parents[1], timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("supervision up: unsupported server:"), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
