"""int_firms__monthly_exposure is incremental by period: a resubmitted earlier month replaces that month only.

The built tiny/11 world (``built_copy``) gets version 2 of one institution's loans of an earlier month (not its
last), with one firm's loan balance raised (its contract amount with it) and set 95 days overdue. An incremental
`dbt run` of the model must then show the new balance for that firm and month, leave every row of the other months
untouched (physical row positions unchanged: not rewritten), and hold exactly what a `--full-refresh` build holds
(EXCEPT ALL both ways).
"""

from __future__ import annotations

import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest

from tests.test_accounts_latest_incremental import _has, _loaded, _positions, _read, _resubmit, _submissions, connect

MODEL = "int_firms__monthly_exposure"
RELATION = f"intermediate.{MODEL}"
RAISE = Decimal("1234567.00")


@pytest.fixture(scope="module")
def resubmitted(built_copy):
    from include.cli.warehouse import _dbt
    from include.ingest.loader import ingest_manifests
    from include.warehouse.connection import role_url

    state = built_copy.state

    loaded = _loaded()
    # the first institution with an earlier (not its last) month of loans to a firm
    chosen = None
    for code in sorted(p.name for p in state.landing.iterdir() if p.is_dir()):
        manifests = [m for m in _submissions(state.landing, code, loaded) if _has(m, "loan")]
        for m in manifests[:-1]:
            header, rows = _read(m, "loan")
            uscc, balance = header.index("borrower_uscc"), header.index("balance")
            firm_rows = [r for r in rows if r[uscc]]
            if firm_rows:
                chosen = (m, header, rows, firm_rows[0], uscc, balance)
                break
        if chosen:
            break
    assert chosen is not None, "no institution lends to a firm in an earlier month of the tiny world"
    source, header, rows, raised, uscc, balance = chosen
    overdue, contract = header.index("overdue_days"), header.index("contract_amount")
    new = [*raised]
    new[balance], new[overdue] = str(Decimal(raised[balance]) + RAISE), "95"
    new[contract] = str(max(Decimal(raised[contract]), Decimal(new[balance])))  # rule loan_balance_within_contract
    v2 = _resubmit(source, Path(tempfile.mkdtemp(prefix="sv-exp-")), "loan", header,
                   [new if r is raised else r for r in rows])
    period = v2.parent.parent.name
    firm = raised[uscc]
    where_firm = f"firm_uscc = '{firm}' and period = '{period}'::date"
    out: dict = {}
    try:
        with connect() as conn:
            out["before"] = conn.execute(f"select loan_balance, overdue_balance from {RELATION} where {where_firm}"
                                         ).fetchone()
            out["others_before"] = _positions(conn, f"period <> '{period}'::date", RELATION)
        outcomes = ingest_manifests(role_url("loader", state), [v2], state)
        out["statuses"] = [o.status for o in outcomes]
        out["reasons"] = [o.reason for o in outcomes if o.status != "accepted"]
        proc = _dbt(["run", "--select", MODEL], check=False)
        assert proc.returncode == 0, proc.stdout[-6000:]
        with connect() as conn:
            out["after"] = conn.execute(f"select loan_balance, overdue_balance from {RELATION} where {where_firm}"
                                        ).fetchone()
            out["others_after"] = _positions(conn, f"period <> '{period}'::date", RELATION)
            conn.execute("create schema exposure_incremental")
            conn.execute(f"create table exposure_incremental.rows as select * from {RELATION}")
        proc = _dbt(["run", "--full-refresh", "--select", MODEL], check=False)
        assert proc.returncode == 0, proc.stdout[-6000:]
        with connect() as conn:
            out["only_incremental"], out["only_full"] = (conn.execute(
                f"select count(*) from (select * from {a} except all select * from {b}) d").fetchone()[0]
                for a, b in (("exposure_incremental.rows", RELATION), (RELATION, "exposure_incremental.rows")))
        out["raised"] = (Decimal(raised[balance]), int(raised[overdue] or 0) > 0)
        yield out
    finally:
        shutil.rmtree(v2.parents[3], ignore_errors=True)


def test_the_resubmission_is_accepted(resubmitted):
    assert resubmitted["statuses"] == ["accepted"], resubmitted["reasons"]


def test_the_resubmitted_month_shows_the_new_balance(resubmitted):
    (balance_before, overdue_before), (balance_after, overdue_after) = resubmitted["before"], resubmitted["after"]
    old_balance, was_overdue = resubmitted["raised"]
    assert balance_after - balance_before == RAISE
    # the raised loan is now overdue: its new balance counts in full, its old one (if it was overdue) no longer
    assert overdue_after - overdue_before == old_balance + RAISE - (old_balance if was_overdue else 0)


def test_other_months_are_not_rewritten_and_incremental_equals_full_refresh(resubmitted):
    before, after = resubmitted["others_before"], resubmitted["others_after"]
    assert before[0] > 0 and after == before
    assert resubmitted["only_incremental"] == 0 and resubmitted["only_full"] == 0
