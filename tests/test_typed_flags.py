"""The typed table's rule flags (include/ingest/typed.py): the unique and personal-identifier rules are
computed once when the table is built, and GX's queries select by the flags. The flags must mark exactly
the rows the rules' own SQL finds (the window ``count(*) over (partition by key) > 1``, the regex)."""

from __future__ import annotations

import pytest

from include.ingest import quality
from include.ingest.typed import mark_duplicates, typed_table_sql
from include.registry.datasets import get
from include.registry.ddl import landing_ddl, q
from include.registry.expectations import row_flags, unique_flags

pytestmark = pytest.mark.filterwarnings("ignore")

PERIOD = "2024-03-31"
TRANSACTION = get("transaction")


def _row(i: int, **kw) -> dict:
    row = {"institution_code": "B0001", "report_period": PERIOD, "txn_id": f"T{i}", "account_no": f"{i:019d}",
           "txn_time": "2024-03-01T10:00:00+08:00", "direction": "收", "amount": "10.00", "channel": "ATM",
           "counterparty_account": f"{i + 500:019d}", "counterparty_name": "李四",
           "counterparty_institution_code": "B0002", "purpose": "x"}
    row.update(kw)
    return row


ROWS = [
    _row(1), _row(2), _row(1),                                   # lines 1 and 3: the same key
    _row(4, report_period=""), _row(4, report_period="bad"),     # lines 4 and 5: NULL typed period, same key
    _row(6, report_period=""),                                   # line 6: NULL period, its own key
    _row(7, account_no="12345"), _row(8, counterparty_account="ACC-8"),  # lines 7, 8: regex failures
    _row(9, account_no=""),                                      # line 9: missing, not a format failure
]


@pytest.fixture
def batch(warehouse):
    table = "transaction_flags_t1"
    cols = ["_batch_id", "_period", "_line", *TRANSACTION.column_names]
    with warehouse.connect("loader", autocommit=True) as conn:
        conn.execute(f"drop table if exists landing.{q(table)}")
        conn.execute(landing_ddl(TRANSACTION, table))
        with conn.cursor() as cur:
            cur.executemany(
                f"insert into landing.{q(table)} ({', '.join(q(c) for c in cols)}) overriding system value "
                f"values ({', '.join(['%s'] * len(cols))})",
                [[1, PERIOD, line, *(r.get(c) for c in TRANSACTION.column_names)] for line, r in enumerate(ROWS, 1)])
    yield table
    with warehouse.connect("loader", autocommit=True) as conn:
        conn.execute(f"drop table if exists landing.{q(table)}")
        conn.execute(f"drop table if exists landing.{q(table + '_typed')}")


def test_flags_mark_exactly_the_rows_the_rules_own_sql_finds(batch, warehouse):
    from sqlalchemy import create_engine

    engine = create_engine(warehouse.role_url("loader"))
    typed = f"landing.{q(batch + '_typed')}"
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(typed_table_sql(TRANSACTION, batch))
            mark_duplicates(conn, TRANSACTION, batch + "_typed")
            ((flag, key),) = unique_flags(TRANSACTION)
            cols = ", ".join(q(c) for c in key)
            flagged = {r[0] for r in conn.exec_driver_sql(f"select _line from {typed} where {q(flag)}")}
            window = {r[0] for r in conn.exec_driver_sql(
                f"select _line from (select _line, count(*) over (partition by {cols}) as n from {typed}) k "
                "where n > 1")}
            assert flagged == window == {1, 3, 4, 5}
            for flag, _ in row_flags(TRANSACTION):
                column = flag.split("__", 1)[1]
                flagged = {r[0] for r in conn.exec_driver_sql(f"select _line from {typed} where {q(flag)}")}
                direct = {r[0] for r in conn.exec_driver_sql(
                    f"select _line from {typed} where {q(column)} is not null and {q(column)} !~ '^[0-9]{{19}}$'")}
                assert flagged == direct == ({7} if column == "account_no" else {8})
    finally:
        engine.dispose()


def test_the_gate_reports_the_flagged_rows_with_their_lines_and_counts(batch, warehouse):
    outcome = quality.validate_landing(warehouse.role_url("loader"), batch, TRANSACTION, PERIOD)
    results = {r.rule_name: r for r in outcome.results}
    unique = results["transaction_key_unique"]
    assert not unique.success and unique.unexpected_count == 4
    assert [e["line"] for e in unique.examples] == [1, 3, 4, 5]
    assert [e["value"] for e in unique.examples][2:] == ["B0001 | NULL | T4"] * 2
    account = results["transaction_account_format"]
    assert (account.success, account.unexpected_count, [e["line"] for e in account.examples]) == (False, 1, [7])
    assert "12345" not in account.examples[0]["value"]  # masked in SQL
    counterparty = results["transaction_counterparty_account_format"]
    assert (counterparty.severity, counterparty.unexpected_count, [e["line"] for e in counterparty.examples]) == \
        ("warning", 1, [8])
    assert not outcome.passed
