"""The suite's private copies of the built tiny warehouse (tests/conftest.py ``database_copy``): a test that
changes the warehouse gets a template copy instead of undoing its changes with dbt rebuilds. A copy must
be what the build left (not what other tests did since), private, usable by every role as the original
is (database-level grants are not copied by PostgreSQL: the fixture re-applies them), and gone afterwards."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import Warehouse, database_copy

pytestmark = pytest.mark.slow


def _count(wh: Warehouse, role: str | None = None) -> int:
    with wh.connect(role) as conn:
        return conn.execute("select count(*) from marts_prudential.capital_adequacy").fetchone()[0]


def test_a_copy_is_the_build_private_usable_by_the_roles_and_dropped(built_warehouse):
    built = _count(built_warehouse)
    assert built > 0 and built_warehouse.template
    mp = pytest.MonkeyPatch()
    try:
        with database_copy(built_warehouse, built_warehouse.template, mp) as url:
            copy = Warehouse(state=built_warehouse.state, admin_url=url)
            name = url.rsplit("/", 1)[1]
            assert _count(copy) == built  # what the build left
            assert _count(copy, "transformer") == built  # the roles connect to the copy (grants re-applied)
            with copy.connect("transformer", autocommit=True) as conn:  # dbt may create a mart schema
                conn.execute("create schema if not exists marts_copy_check")
                conn.execute("delete from marts_prudential.capital_adequacy")
            assert _count(copy) == 0
            assert _count(built_warehouse) == built  # private: the shared warehouse is untouched
    finally:
        mp.undo()
    with built_warehouse.connect() as conn:
        assert conn.execute("select count(*) from pg_database where datname = %s", (name,)).fetchone()[0] == 0
        with pytest.raises(psycopg.errors.InvalidSchemaName):
            conn.execute("create table marts_copy_check.t (x int)")
