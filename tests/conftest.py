"""Shared fixtures: a real PostgreSQL for the whole test session, torn down afterwards.

Default: an embedded server (pgserver's binaries) in a fresh temporary SUPERVISION_HOME, stopped and
deleted at the end. With ``SUPERVISION_DATABASE_URL`` set, a throw-away database is created on that
server instead and dropped at the end.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from include.config import StatePaths


@dataclass
class Warehouse:
    state: StatePaths
    admin_url: str  # SQLAlchemy URL (postgresql+psycopg://)
    template: str | None = None  # built_warehouse: the database as built, for database_copy

    def role_url(self, role: str) -> str:
        from include.warehouse.connection import role_url

        return role_url(role, self.state)

    def connect(self, role: str | None = None, **kw) -> psycopg.Connection:
        from include.warehouse.connection import libpq_url

        url = self.admin_url if role is None else self.role_url(role)
        return psycopg.connect(libpq_url(url), **kw)


@contextmanager
def throwaway_database(server_url: str, mp: pytest.MonkeyPatch, prefix: str = "supervision_test") -> Iterator[str]:
    """A new database on the server of ``server_url`` (an administrator's URL), made the warehouse of
    this process (``SUPERVISION_DATABASE_URL``, through ``mp``) and dropped afterwards. Yields its URL."""
    from include.warehouse.connection import libpq_url

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = libpq_url(server_url.replace("postgresql+psycopg", "postgresql"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    u = urlsplit(server_url)
    url = urlunsplit((u.scheme, u.netloc, "/" + name, u.query, ""))
    mp.setenv("SUPERVISION_DATABASE_URL", url)
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


GRANTS = Path(__file__).resolve().parent.parent / "include" / "warehouse" / "migrations" / "001_schemas_and_grants.sql"


def _on_database(url: str, name: str) -> str:
    u = urlsplit(url)
    return urlunsplit((u.scheme, u.netloc, "/" + name, u.query, ""))


def _maintenance(url: str) -> str:
    """A libpq URL to the server's ``postgres`` database (a database cannot be copied while connected to)."""
    from include.warehouse.connection import libpq_url

    return libpq_url(_on_database(url.replace("postgresql+psycopg", "postgresql"), "postgres"))


def snapshot_database(wh: Warehouse, name: str) -> str:
    """Freeze the warehouse's current database into ``name`` (a template for :func:`database_copy`).
    Copying needs the source to have no other session: this process's GX connection pools are closed
    first, and any session left (none normally) is ended."""
    from include.ingest import gx_runtime

    runtime = gx_runtime._RUNTIME
    for ds in (runtime.datasources.values() if runtime else ()):
        ds.get_engine().dispose()
    source = urlsplit(wh.admin_url).path.lstrip("/")
    with psycopg.connect(_maintenance(wh.admin_url), autocommit=True) as conn:
        conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s "
                     "and pid <> pg_backend_pid()", (source,))
        conn.execute(f'drop database if exists "{name}"')
        conn.execute(f'create database "{name}" template "{source}"')
    return name


@contextmanager
def database_copy(wh: Warehouse, template: str, mp: pytest.MonkeyPatch, prefix: str = "copy",
                  name: str | None = None) -> Iterator[str]:
    """A private copy of the database ``template`` (``CREATE DATABASE ... TEMPLATE``: a file copy, seconds
    for the tiny world), made the warehouse of this process (``SUPERVISION_DATABASE_URL``, through ``mp``,
    so the roles' URLs and dbt point at it) and dropped afterwards. Yields its URL. A test that changes
    the built warehouse works on a copy: nothing to restore, no other test sees its changes."""
    from include.warehouse.connection import libpq_url

    name = name or f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_maintenance(wh.admin_url), autocommit=True) as conn:
        conn.execute(f'create database "{name}" template "{template}"')
    url = _on_database(wh.admin_url, name)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:  # database-level grants are not copied
        conn.execute(GRANTS.read_text())
    mp.setenv("SUPERVISION_DATABASE_URL", url)
    try:
        yield url
    finally:
        with psycopg.connect(_maintenance(wh.admin_url), autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def warehouse() -> Iterator[Warehouse]:
    from include.warehouse.bootstrap import bootstrap
    from include.warehouse.connection import admin_url
    from include.warehouse.server import EmbeddedServer

    home = Path(tempfile.mkdtemp(prefix="sv-test-"))
    mp = pytest.MonkeyPatch()
    mp.setenv("SUPERVISION_HOME", str(home))
    state = StatePaths(home)
    external = os.environ.get("SUPERVISION_DATABASE_URL")
    server = None
    try:
        with ExitStack() as stack:
            if external:
                stack.enter_context(throwaway_database(external, mp))
            else:
                server = EmbeddedServer(state)
                stack.callback(server.down)
                server.up()
            bootstrap(state)
            yield Warehouse(state=state, admin_url=admin_url(state))
    finally:
        mp.undo()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_dagbag(warehouse):
    """Airflow configured for the test state directory (SQLite metadata DB migrated, dbt manifest
    parsed), and a DagBag of every DAG file. Connections come from AIRFLOW_CONN_* variables, so
    parsing needs no secret store."""
    from include.airflow_env import airflow_env, apply, ensure_metadata_db
    from include.cli.warehouse import cmd_dbt_parse

    env = airflow_env(warehouse.state)
    mp = pytest.MonkeyPatch()
    if "airflow" in sys.modules and os.environ.get("AIRFLOW_HOME") != env["AIRFLOW_HOME"]:
        apply(env)  # raises: airflow was imported before its environment was set
    for k, v in env.items():  # restored by mp.undo()
        mp.setenv(k, v)
    ensure_metadata_db(warehouse.state)
    cmd_dbt_parse(None)
    from airflow.dag_processing.dagbag import DagBag

    from include.config import DAGS_DIR

    try:
        yield DagBag(dag_folder=str(DAGS_DIR))
    finally:
        mp.undo()


ORPHAN = "X9001"  # reports capital, never an accepted institution record


@pytest.fixture(scope="session")
def built_warehouse(warehouse: Warehouse) -> Iterator[Warehouse]:
    """tiny/11 simulated, ingested by the loader, and the whole dbt project built (seeds, models, tests).
    Plus one institution that delivered a capital report but no institution record (its record quarantined
    or late): the build must still pass and keep it (tests/test_warehouse_build.py). Defined here, once, so
    every module that uses it (test_warehouse_build, test_rls, test_ml_firm) shares one build: a fixture
    imported into a second module is a second fixture and would build (and submit the orphan) twice.
    The database as built is kept as a template: ``built_copy`` gives a test a private copy of it."""
    import simulator as simulate
    from bench.warehouse.prepare import ingest_pending
    from include.cli.warehouse import _dbt
    from include.config import paths
    from include.ingest.loader import ingest_manifests
    from include.warehouse.connection import role_url
    from tests.test_ingest import capital_rows, submit

    p = paths()
    simulate.generate(p.landing, p.ground_truth, preset="tiny", seed=11)
    ingest_pending()
    # the orphan is delivered through a landing zone of its own, so that tests counting what came in
    # through the shared one (test_pipeline_e2e) see exactly the simulated world, in any order
    # a new institution reporting without a master record must be admitted by the regulator first
    from include.ingest.admission import admit

    with warehouse.connect("loader", autocommit=True) as conn:
        admit(conn, [ORPHAN], "conftest: reports capital, never an accepted institution record")
    orphan = submit(p.home / "landing_orphan", ORPHAN, capital_rows(ORPHAN))
    ingest_manifests(role_url("loader"), [orphan], p)
    proc = _dbt(["build"], check=False)
    assert proc.returncode == 0, proc.stdout[-6000:]
    warehouse.template = snapshot_database(warehouse, f"built_{uuid.uuid4().hex[:8]}")
    try:
        yield warehouse
    finally:
        with psycopg.connect(_maintenance(warehouse.admin_url), autocommit=True) as conn:
            conn.execute(f'drop database if exists "{warehouse.template}"')
        warehouse.template = None


@pytest.fixture(scope="module")
def built_copy(built_warehouse: Warehouse) -> Iterator[Warehouse]:
    """The built tiny warehouse as it was right after its build, in a database of this module's own (a
    template copy, dropped afterwards): for tests that change it. Same state directory and server; the
    process's warehouse URL (``SUPERVISION_DATABASE_URL``) points at the copy while the module runs.

    Every module's copy has the same database name and its dbt runs their own target path: dbt re-parses
    the whole project when the profile's database differs from its partial-parse state's, so a copy under a
    new name in the shared target would cost two full parses per module (there, and back in the shared
    warehouse); this way the whole session pays one."""
    from include.cli import warehouse as cli

    mp = pytest.MonkeyPatch()
    dbt, target = cli._dbt, built_warehouse.state.dbt_target.with_name("dbt_target_copy")
    template = built_warehouse.template
    try:
        with database_copy(built_warehouse, template, mp, name=f"{template}_copy") as url:
            mp.setattr(cli, "_dbt", lambda args, check=True, target=target: dbt(args, check, target))
            yield Warehouse(state=built_warehouse.state, admin_url=url)
    finally:
        mp.undo()


def pytest_addoption(parser):
    from tests.halves import addoption

    addoption(parser)


def pytest_collection_modifyitems(config, items):
    from tests.halves import deselect

    deselect(config, items)
