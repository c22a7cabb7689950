"""Serving security: supervisors of one bureau see only their bureau's rows in the marts; HQ sees all;
bi_reader's members read marts only."""

from __future__ import annotations

import secrets
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow

MARTS = ("marts_portraits.institution_portrait", "marts_prudential.prudential_indicators",
         "marts_warnings.warnings", "marts_portraits.firm_portrait", "marts_quality.dq_scorecard",
         "marts_supervision.rating_worksheet", "marts_prudential.stress_test_results",
         "marts_prudential.stress_test_system", "marts_warnings.rule_activity",
         "marts_features.institution_quarter_features", "marts_features.institution_quarter_training",
         "marts_warnings.warning_queue", "marts_warnings.warning_reasons", "marts_networks.bank_red_line_exposure")

# Reference data every bureau may read in full: the dbt seeds (schema `reference`), one file each.
REFERENCE_DATA = frozenset(f"reference.{p.stem}" for p in (ROOT / "dbt_project" / "seeds").glob("*.csv"))

# Every relation (table, view, materialized view, foreign or partitioned table) bi_reader can select from,
# straight from the catalog: SELECT on the relation (or a column of it) and USAGE on its schema, whether
# granted to bi_reader, to a role it belongs to, or to PUBLIC. Per relation: is row-level security on, and
# which policies apply to bi_reader's members (a policy for PUBLIC or for bi_reader).
READABLE_BY_BI_READER = """
select n.nspname || '.' || c.relname as relation,
       c.relkind::text,
       c.relrowsecurity,
       c.relforcerowsecurity,
       array_remove(array_agg(p.polname::text order by p.polname), null) as policies
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
left join pg_policy p
  on p.polrelid = c.oid
 and p.polcmd in ('r', '*')
 and (p.polroles && array[0::oid, (select oid from pg_roles where rolname = 'bi_reader')])
where c.relkind in ('r', 'v', 'm', 'f', 'p')
  and n.nspname not in ('pg_catalog', 'information_schema')
  and has_schema_privilege('bi_reader', n.oid, 'USAGE')
  and (has_table_privilege('bi_reader', c.oid, 'SELECT')
       or has_any_column_privilege('bi_reader', c.oid, 'SELECT'))
group by 1, 2, 3, 4
order by 1
"""


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


def test_every_relation_bi_reader_can_read_has_a_bureau_policy_or_is_reference_data(built_warehouse):
    """Catalog-driven, not a list: a new mart granted to bi_reader without a row-level-security policy
    (or a view over a protected mart, which would run with its owner's rights) fails here."""
    with built_warehouse.connect() as admin:
        rows = admin.execute(READABLE_BY_BI_READER).fetchall()
    readable = {r[0] for r in rows}
    assert "marts_portraits.institution_portrait" in readable  # the query does see the marts
    assert REFERENCE_DATA and REFERENCE_DATA <= readable, REFERENCE_DATA - readable
    unprotected = [
        (relation, kind, rls_on, policies) for relation, kind, rls_on, _forced, policies in rows
        if relation not in REFERENCE_DATA and not (kind in ("r", "p") and rls_on and policies)
    ]
    assert unprotected == [], f"bi_reader can read these without a bureau policy: {unprotected}"
    # and what is protected is protected by the bureau predicate (security.can_see_bureau)
    # and every policy that applies to bi_reader's members filters by bureau (security.can_see_bureau):
    # a `using (true)` for bi_reader or PUBLIC would open the table (other roles, e.g. the scorer on the
    # feature marts, may have one)
    with built_warehouse.connect() as admin:
        quals = admin.execute(
            "select c.relnamespace::regnamespace || '.' || c.relname, p.polname, pg_get_expr(p.polqual, p.polrelid) "
            "from pg_policy p join pg_class c on c.oid = p.polrelid "
            "where p.polroles && array[0::oid, (select oid from pg_roles where rolname = 'bi_reader')]").fetchall()
    assert {rel for rel, _name, _qual in quals} >= readable - REFERENCE_DATA
    assert all("can_see_bureau" in qual for _rel, _name, qual in quals), quals


def test_feature_marts_without_a_bureau_are_the_models_only(built_warehouse, two_bureaus):
    with _login(built_warehouse, f"sup_{two_bureaus[0].lower()}") as conn:
        for relation in ("marts_features.firm_month_features", "marts_features.firm_month_training",
                         "marts_features.institution_quarter_labels"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select 1 from {relation} limit 1")
            conn.rollback()
    with built_warehouse.connect("scorer") as conn:  # the models read every bureau's rows
        assert conn.execute("select count(*) from marts_features.firm_month_training").fetchone()[0] > 0
        for relation in ("marts_features.institution_quarter_features", "marts_features.institution_quarter_training"):
            with built_warehouse.connect() as admin:
                total = admin.execute(f"select count(*) from {relation}").fetchone()[0]
            assert conn.execute(f"select count(*) from {relation}").fetchone()[0] == total > 0
