"""Promotion tokenises each distinct identifier once (include/ingest/promote.py, token_table) and the rows
join the tokens: the joined token of every row equals the row-by-row keyed hash (token_sql) and Python's
token(), for blanks, empty strings, NULLs, repeats, case and surrounding spaces."""

from __future__ import annotations

import pytest
from psycopg import sql

from include.ingest.promote import token_table
from include.privacy.pseudonymise import sql_params, token, token_sql
from include.registry import ddl
from include.registry.datasets import CUSTOMER_INDIVIDUAL, TRANSACTION
from include.registry.ddl import q

KEY = b"promote-tokens-test-key-0123456789abcdef"

#: identifier values as submitted (each used in several rows and columns)
VALUES = ["110101199003077777", "110101199003077x7x", " 110101199003077X7X ", "", None, "  ", "张三",
          "6222020200112233445", "6222020200112233445", "王 五 ", "13800138000"]


@pytest.mark.parametrize("ds", [TRANSACTION, CUSTOMER_INDIVIDUAL], ids=lambda d: d.name)
def test_joined_tokens_equal_the_row_by_row_keyed_hash(warehouse, ds):
    pii = [c for c in ds.columns if c.pii]
    table = f"tok_test_{ds.name}"
    params = sql_params(KEY)
    with warehouse.connect(role="loader") as conn:
        conn.execute(ddl.landing_ddl(ds, table))
        conn.execute("select set_config(%s, '7', true), set_config(%s, '2025-03-31', true)",
                     (ddl.BATCH_SETTING, ddl.PERIOD_SETTING))
        names = sql.SQL(", ").join(sql.Identifier(c.name) for c in pii)
        for i in range(len(VALUES)):  # every column sees every value, in a different row each
            row = [VALUES[(i + k) % len(VALUES)] for k in range(len(pii))]
            conn.execute(sql.SQL("insert into {} ({}) values ({})").format(
                sql.Identifier("landing", table), names, sql.SQL(", ").join(sql.Placeholder() * len(pii))), row)
        conn.execute(sql.SQL("insert into {} ({}) select {} from {} where _batch_id = 7").format(
            sql.Identifier("landing", table), names, names, sql.Identifier("landing", table)))  # repeats
        name = token_table(conn, ds, table, [7], params)
        stored = conn.execute(f"select kind, v, t from landing.{q(name)}").fetchall()
        # one row per distinct (kind, value), none for '' or NULL, each the Python token
        assert len(stored) == len({(k, v) for k, v, _ in stored})
        expected = {(c.pii, v) for c in pii for v in VALUES if v}
        assert {(k, v) for k, v, _ in stored} == expected
        assert all(t == token(v, k, KEY) for k, v, t in stored)
        # the join gives, on every row and column, what token_sql gives row by row
        for c in pii:
            col = f"l.{q(c.name)}"
            mismatches = conn.execute(
                f"select count(*), count(*) filter (where k.t is distinct from {token_sql(col, c.pii)}) "
                f"from landing.{q(table)} l left join landing.{q(name)} k on k.kind = '{c.pii}' and k.v = {col}",
                params).fetchone()
            assert mismatches == (2 * len(VALUES), 0), (c.name, mismatches)
        conn.rollback()
