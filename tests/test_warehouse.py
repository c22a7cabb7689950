"""Warehouse lifecycle (up, status, down, restart after a kill) and least-privilege roles."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from include.config import StatePaths
from include.warehouse.bootstrap import bootstrap
from include.warehouse.server import EmbeddedServer


@pytest.fixture
def scratch_server():
    home = Path(tempfile.mkdtemp(prefix="sv-life-"))
    server = EmbeddedServer(StatePaths(home))
    try:
        yield server
    finally:
        server.down()
        shutil.rmtree(home, ignore_errors=True)


def test_up_status_down_cycle(scratch_server):
    assert not scratch_server.status().running
    info = scratch_server.up()
    assert info.running and info.host == "127.0.0.1" and info.port
    assert scratch_server.up().pid == info.pid, "up on a running server must not restart it"
    with psycopg.connect(scratch_server.admin_url().replace("+psycopg", "")) as conn:
        assert conn.execute("show listen_addresses").fetchone()[0] == "127.0.0.1"
        assert conn.execute("select current_database()").fetchone()[0] == "supervision"
    assert scratch_server.down() is True
    assert not scratch_server.status().running
    assert scratch_server.down() is False


def test_restart_after_sigkill_leaves_no_stale_state(scratch_server):
    info = scratch_server.up()
    os.kill(info.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while scratch_server.status().running and time.monotonic() < deadline:
        time.sleep(0.1)
    # No waiting for the orphaned backends here: up() must cope with them itself.
    again = scratch_server.up()
    assert again.running and again.pid != info.pid


def test_a_table_built_without_wal_survives_a_crash(scratch_server):
    """wal_level minimal (server.START_SETTINGS): a table created and filled in one transaction, as dbt builds
    every table model, writes no WAL and is fsynced at commit instead; it must survive a SIGKILL of the
    server (crash recovery) with every row."""
    from include.warehouse.server import DATABASE, START_SETTINGS

    info = scratch_server.up()
    url = scratch_server.admin_url(DATABASE).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        assert {k: conn.execute(f"show {k}").fetchone()[0] for k in START_SETTINGS} == START_SETTINGS
        before = conn.execute("select pg_current_wal_insert_lsn()").fetchone()[0]
        with conn.transaction():
            conn.execute("create table built as select n, md5(n::text) as h from generate_series(1, 200000) as n")
        wal = conn.execute("select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s::pg_lsn)", (before,)).fetchone()[0]
    assert wal < 1_000_000  # the ~13 MB table itself is not in the WAL (replica: ~15 MB)
    os.kill(info.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while scratch_server.status().running and time.monotonic() < deadline:
        time.sleep(0.1)
    scratch_server.up()
    url = scratch_server.admin_url(DATABASE).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*), sum(n) from built where h = md5(n::text)").fetchone() == (
            200000, 200000 * 200001 // 2)


def test_data_directory_is_outside_the_repository(warehouse):
    repo = Path(__file__).resolve().parent.parent
    assert repo not in warehouse.state.pgdata.resolve().parents


def _catalog_snapshot(conn: psycopg.Connection) -> tuple:
    schemas = conn.execute("select nspname, nspowner::regrole::text, coalesce(nspacl::text, '') from pg_namespace "
                           "order by 1").fetchall()
    tables = conn.execute("select schemaname, tablename, tableowner from pg_tables "
                          "where schemaname not in ('pg_catalog', 'information_schema') order by 1, 2").fetchall()
    roles = conn.execute("select rolname, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls from pg_roles "
                         "where rolname not like 'pg_%' order by 1").fetchall()
    defaults = conn.execute("select defaclrole::regrole::text, defaclnamespace, defaclacl::text "
                            "from pg_default_acl order by 1, 2, 3").fetchall()
    return schemas, tables, roles, defaults


def test_bootstrap_twice_changes_nothing(warehouse):
    with warehouse.connect(autocommit=True) as conn:
        before = _catalog_snapshot(conn)
        applied = bootstrap(warehouse.state)
        after = _catalog_snapshot(conn)
    assert applied == []
    assert before == after


@pytest.mark.parametrize("role", ["loader", "transformer", "scorer", "bi_reader", "auditor"])
def test_roles_are_not_privileged(warehouse, role):
    with warehouse.connect(role) as conn:
        row = conn.execute("select rolsuper, rolcreatedb, rolcreaterole, rolbypassrls from pg_roles "
                           "where rolname = current_user").fetchone()
    assert row == (False, False, False, False)


@pytest.mark.parametrize(
    "role, statement",
    [
        ("bi_reader", "select count(*) from raw.capital_report"),
        ("bi_reader", "select count(*) from ops.batch"),
        ("bi_reader", "create table marts.x (a int)"),
        ("auditor", "select count(*) from raw.capital_report"),
        ("auditor", "insert into ops.batch_event (batch_id, status) values (1, 'x')"),
        ("transformer", "insert into ops.batch_event (batch_id, status) values (1, 'x')"),
        ("transformer", "create table raw.sneaky (a int)"),
        ("transformer", "delete from raw.capital_report"),
        ("scorer", "select count(*) from raw.capital_report"),
        ("scorer", "create table staging.x (a int)"),
        ("loader", "create table marts.x (a int)"),
        ("loader", "create table public.x (a int)"),
    ],
)
def test_roles_cannot_exceed_their_grants(warehouse, role, statement):
    with warehouse.connect(role) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


@pytest.mark.parametrize(
    "role, statement",
    [
        ("transformer", "select count(*) from raw.capital_report"),
        ("transformer", "select count(*) from ops.batch"),
        ("auditor", "select count(*) from ops.batch_event"),
        ("loader", "select count(*) from raw.capital_report"),
    ],
)
def test_roles_can_do_their_job(warehouse, role, statement):
    with warehouse.connect(role) as conn:
        assert conn.execute(statement).fetchone()[0] >= 0


def test_role_passwords_are_outside_the_repo_and_private(warehouse):
    f = warehouse.state.secrets / "roles.json"
    assert f.exists()
    assert oct(f.stat().st_mode & 0o777) == "0o600"
