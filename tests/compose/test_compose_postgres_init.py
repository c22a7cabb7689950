"""The PostgreSQL init script of the compose stack, run against a real PostgreSQL 16 (pgserver's
binaries) as the image's entrypoint would run it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.compose.support import INIT_SCRIPT


@pytest.fixture(scope="module")
def initialised_postgres():
    """An embedded PostgreSQL 16 on which the init script ran as the image's entrypoint would run it."""
    from include.config import StatePaths
    from include.warehouse.server import EmbeddedServer, _pg_bin_dir

    # Not pytest's tmp_path: as root, PostgreSQL runs as another user, who must traverse the parents.
    base = Path(tempfile.mkdtemp(prefix="sv-compose-pg-"))
    base.chmod(0o755)
    server = EmbeddedServer(StatePaths(base))
    POSTGRES_BIN_PATH = _pg_bin_dir()
    try:
        info = server.up(create_database=False)  # the init script creates the databases itself
        env = {
            **os.environ,
            "PATH": f"{POSTGRES_BIN_PATH}{os.pathsep}{os.environ.get('PATH', '')}",
            "PGHOST": str(info.socket_dir or info.host),
            "PGPORT": str(info.port or 5432),
            "POSTGRES_USER": "postgres",
            "AIRFLOW_DB_PASSWORD": "airflow 'quoted' pw",
            "SUPERVISION_DB_PASSWORD": "supervision\\pw",
        }
        run = subprocess.run(["bash", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr

        def psql(query: str, user: str = "postgres", db: str = "postgres") -> subprocess.CompletedProcess:
            return subprocess.run(
                ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-U", user, "-d", db, "-c", query],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )

        yield psql
    finally:
        server.down()
        shutil.rmtree(base, ignore_errors=True)


def test_init_script_creates_both_databases_with_their_owners(initialised_postgres):
    out = initialised_postgres(
        "select datname || ':' || pg_get_userbyid(datdba) || ':' || pg_encoding_to_char(encoding) "
        "from pg_database where datname in ('airflow', 'supervision') order by 1"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["airflow:airflow:UTF8", "supervision:supervision:UTF8"]


def test_init_script_gives_the_owners_login_passwords_but_no_superpowers(initialised_postgres):
    out = initialised_postgres(
        "select rolname || ':' || rolcanlogin || ':' || rolsuper || ':' || rolcreaterole || ':' "
        "|| (rolpassword like 'SCRAM-SHA-256$%') from pg_authid where rolname in ('airflow', 'supervision') "
        "order by 1"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["airflow:true:false:false:true", "supervision:true:false:false:true"]


def test_init_script_keeps_each_owner_out_of_the_other_database(initialised_postgres):
    assert initialised_postgres("select 1", user="airflow", db="airflow").returncode == 0
    assert initialised_postgres("select 1", user="supervision", db="supervision").returncode == 0
    denied = initialised_postgres("select 1", user="supervision", db="airflow")
    assert denied.returncode != 0 and "permission denied" in denied.stderr
