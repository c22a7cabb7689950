"""Serving security: supervisors of one bureau see only their bureau's rows in the marts; HQ sees all;
bi_reader's members read marts only."""

from __future__ import annotations

import secrets

import psycopg
import pytest

pytestmark = pytest.mark.slow

MARTS = ("marts_portraits.institution_portrait", "marts_prudential.prudential_indicators",
         "marts_warnings.warnings", "marts_portraits.firm_portrait", "marts_quality.dq_scorecard",
         "marts_supervision.rating_worksheet", "marts_prudential.stress_test_results",
         "marts_prudential.stress_test_system", "marts_warnings.rule_activity")


def _login(warehouse, role: str) -> psycopg.Connection:
    """Give the bureau's login role a one-off password (migration 020 creates it without one) and log in."""
    from include.warehouse.connection import libpq_url

    password = secrets.token_urlsafe(16)
    with warehouse.connect(autocommit=True) as admin:
        admin.execute(psycopg.sql.SQL("alter role {} password {}").format(
            psycopg.sql.Identifier(role), psycopg.sql.Literal(password)))
    url = warehouse.role_url("bi_reader").replace("bi_reader:", f"{role}:", 1)
    user, rest = url.split("://", 1)[1].split("@", 1)
    url = url.replace(user, f"{role}:{password}", 1)
    return psycopg.connect(libpq_url(url))


@pytest.fixture(scope="module")
def two_bureaus(built_warehouse):
    with built_warehouse.connect() as conn:
        rows = conn.execute("select bureau_code from marts_portraits.institution_portrait where bureau_code <> 'HQ' "
                            "group by 1 order by count(*) desc, 1 limit 2").fetchall()
    assert len(rows) == 2
    return [r[0] for r in rows]


def test_each_bureau_sees_only_its_own_rows(built_warehouse, two_bureaus):
    for bureau in two_bureaus:
        with _login(built_warehouse, f"sup_{bureau.lower()}") as conn:
            for mart in MARTS:
                seen = dict(conn.execute(f"select bureau_code, count(*) from {mart} group by 1").fetchall())
                assert set(seen) <= {bureau}, (bureau, mart, seen)
            own = conn.execute("select count(*) from marts_portraits.institution_portrait").fetchone()[0]
        with built_warehouse.connect() as admin:
            expected = admin.execute("select count(*) from marts_portraits.institution_portrait "
                                     "where bureau_code = %s", (bureau,)).fetchone()[0]
        assert own == expected > 0


def test_guarantee_networks_are_visible_to_every_lender_bureau(built_warehouse, two_bureaus):
    bureau = two_bureaus[0]
    with _login(built_warehouse, f"sup_{bureau.lower()}") as conn:
        seen = conn.execute("select bureau_codes from marts_networks.guarantee_networks").fetchall()
    with built_warehouse.connect() as admin:
        expected = admin.execute("select count(*) from marts_networks.guarantee_networks "
                                 "where %s = any(bureau_codes)", (bureau,)).fetchone()[0]
    assert len(seen) == expected
    assert all(bureau in codes for (codes,) in seen)


def test_hq_sees_every_bureau(built_warehouse):
    with built_warehouse.connect() as admin:
        total = admin.execute("select count(*) from marts_portraits.institution_portrait").fetchone()[0]
    with _login(built_warehouse, "sup_hq") as conn:
        assert conn.execute("select count(*) from marts_portraits.institution_portrait").fetchone()[0] == total > 0


def test_bi_reader_alone_sees_no_rows_and_nobody_reads_below_the_marts(built_warehouse, two_bureaus):
    with built_warehouse.connect("bi_reader") as conn:
        assert conn.execute("select count(*) from marts_portraits.institution_portrait").fetchone()[0] == 0
    with _login(built_warehouse, f"sup_{two_bureaus[0].lower()}") as conn:
        for relation in ("intermediate.int_prudential__indicators", "staging.stg_submissions__institutions",
                         "raw.institution", "ops.rating_override", "ops.notifications"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select 1 from {relation} limit 1")
            conn.rollback()
