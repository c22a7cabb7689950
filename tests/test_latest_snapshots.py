"""The latest loan and guarantee snapshots are read through the ledger's periods (macro latest_snapshot_pairs), and
hold the rows the earlier definition held: each institution's latest period among the rows themselves.

The built tiny/11 world (``built_copy``) gets version 2 of one institution's last month of loans without its loans
to firms (its loans to individuals kept). Both models, built before and rebuilt after, must equal that definition
written out in SQL (EXCEPT ALL both ways), and the firm exposure's lender lists no longer name the institution: the
resubmitted month is still its latest, now without a firm borrower (the ledger's pair is that month, not the
month of the superseded version's or an earlier batch).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.test_accounts_latest_incremental import _has, _loaded, _read, _resubmit, _submissions, connect

# the two models' definitions before the ledger's periods (hist15): the latest period found in the rows
FIRM_EXPOSURE = """
with
loans as (select * from staging.stg_submissions__loans),
current_loans as (
    select loans.* from loans
    inner join (select institution_code, max(report_period) as report_period from loans group by institution_code) p
        using (institution_code, report_period)
    where loans.borrower_uscc is not null
)
select
    borrower_uscc as firm_uscc,
    count(distinct institution_code) as lender_count,
    array_agg(distinct institution_code order by institution_code) as lender_codes,
    count(*) as loan_count,
    sum(balance) as total_balance,
    sum(balance) filter (where overdue_days > 0) as overdue_balance,
    max(overdue_days) as max_overdue_days,
    bool_or(overdue_days > 0) as overdue_anywhere,
    bool_or(five_category in ('次级', '可疑', '损失')) as non_performing_anywhere,
    sum(balance) filter (where purpose = '房地产开发') as real_estate_development_balance,
    max(report_period) as as_of_period
from current_loans
group by borrower_uscc
"""

GUARANTEE_EDGES = """
with
guarantees as (select * from staging.stg_submissions__guarantees),
current_guarantees as (
    select guarantees.* from guarantees
    inner join (select institution_code, max(report_period) as report_period from guarantees
                group by institution_code) p
        using (institution_code, report_period)
)
select
    g.institution_code, g.report_period as period, g.guarantee_id, g.loan_id, g.guarantor_uscc, g.borrower_uscc,
    g.guarantee_amount, loans.balance as loan_balance, loans.overdue_days as loan_overdue_days
from current_guarantees as g
left join staging.stg_submissions__loans as loans
    on g.institution_code = loans.institution_code and g.report_period = loans.report_period
    and g.loan_id = loans.loan_id
where g.guarantor_type = '企业' and g.guarantor_uscc is not null and g.guarantor_uscc <> g.borrower_uscc
"""

MODELS = {"int_networks__firm_exposure": FIRM_EXPOSURE, "int_networks__guarantee_edges": GUARANTEE_EDGES}


def _differences(conn, relation: str, reference: str) -> tuple[int, int]:
    """Rows only in the model, rows only in the reference definition."""
    return conn.execute(
        f"select (select count(*) from (select * from {relation} except all ({reference})) a),"
        f" (select count(*) from (({reference}) except all select * from {relation}) b)").fetchone()


@pytest.fixture(scope="module")
def resubmitted(built_copy):
    from include.cli.warehouse import _dbt
    from include.ingest.loader import ingest_manifests
    from include.warehouse.connection import role_url

    state = built_copy.state
    loaded = _loaded()
    chosen = None
    with connect() as conn:
        lenders = {r[0] for r in conn.execute(
            "select distinct institution_code from staging.stg_submissions__loans where borrower_uscc is not null")}
    for code in sorted(lenders):
        manifests = [m for m in _submissions(state.landing, code, loaded) if _has(m, "loan")]
        if not manifests:
            continue
        header, rows = _read(manifests[-1], "loan")
        uscc = header.index("borrower_uscc")
        kept = [r for r in rows if not r[uscc]]
        if kept and len(kept) < len(rows):
            chosen = (code, manifests[-1], header, kept)
            break
    assert chosen is not None, "no institution of the tiny world lends to firms and individuals in its last month"
    code, last, header, kept = chosen
    v2 = _resubmit(last, Path(tempfile.mkdtemp(prefix="sv-snap-")), "loan", header, kept)
    out: dict = {"code": code}
    try:
        with connect() as conn:
            out["before"] = {m: _differences(conn, f"intermediate.{m}", sql) for m, sql in MODELS.items()}
        outcomes = ingest_manifests(role_url("loader", state), [v2], state)
        out["statuses"] = [o.status for o in outcomes]
        proc = _dbt(["run", "--select", *MODELS], check=False)
        assert proc.returncode == 0, proc.stdout[-6000:]
        with connect() as conn:
            out["after"] = {m: _differences(conn, f"intermediate.{m}", sql) for m, sql in MODELS.items()}
            out["latest"] = conn.execute(
                "select max(report_period) = %s::date, count(*) filter (where borrower_uscc is not null"
                " and report_period = %s::date) from staging.stg_submissions__loans where institution_code = %s",
                (last.parent.parent.name, last.parent.parent.name, code)).fetchone()
            out["lent_to"] = conn.execute(
                "select count(*) from intermediate.int_networks__firm_exposure where %s = any(lender_codes)",
                (code,)).fetchone()[0]
        yield out
    finally:
        shutil.rmtree(v2.parents[3], ignore_errors=True)


def test_the_resubmission_is_accepted_and_its_month_is_the_latest_without_firm_loans(resubmitted):
    assert resubmitted["statuses"] == ["accepted"]
    assert resubmitted["latest"] == (True, 0)


def test_the_snapshots_hold_what_the_rows_based_definition_holds(resubmitted):
    assert resubmitted["before"] == {m: (0, 0) for m in MODELS}
    assert resubmitted["after"] == {m: (0, 0) for m in MODELS}


def test_the_institution_no_longer_lends_to_a_firm(resubmitted):
    assert resubmitted["lent_to"] == 0
