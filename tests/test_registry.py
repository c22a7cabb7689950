"""The dataset registry is the one place a column is declared: derived artefacts must agree."""

from __future__ import annotations

from include.registry import dbt_sources, ddl
from include.registry.datasets import DATASETS


def test_dbt_sources_yaml_is_generated_from_the_registry():
    committed = dbt_sources.SOURCES_FILE.read_text(encoding="utf-8")
    assert committed == dbt_sources.render(), "run `supervision registry generate` and commit the result"


def test_every_dataset_has_its_period_and_key_columns():
    for ds in DATASETS.values():
        names = ds.column_names
        assert ds.period_column in names, ds.name
        assert set(ds.key) <= set(names), ds.name
        assert len(names) == len(set(names)), f"{ds.name} has duplicate columns"


def test_every_rule_names_real_columns_and_has_bilingual_text():
    for ds in DATASETS.values():
        for rule in ds.rules:
            assert set(rule.columns) <= set(ds.column_names), (ds.name, rule.name)
            assert rule.en and rule.zh, (ds.name, rule.name)
            assert rule.severity in ("critical", "warning")


def test_raw_ddl_lists_every_registry_column_with_its_type(warehouse):
    with warehouse.connect("loader") as conn:
        types = sorted({c.pg_type for ds in DATASETS.values() for c in ds.columns})
        canonical = {t: conn.execute(f"select format_type('{t}'::regtype, null), %s", (t,)).fetchone()[0]
                     for t in types}
        for t in types:  # keep the type modifier (numeric(20,2)): let PostgreSQL spell the full type
            if "(" in t:
                canonical[t] = conn.execute(f"select pg_typeof(null::{t})::text || %s", (t[t.index('('):],)
                                            ).fetchone()[0]
        for ds in DATASETS.values():
            cols = conn.execute(
                "select column_name, format_type(atttypid, atttypmod) from information_schema.columns c "
                "join pg_attribute a on a.attrelid = ('raw.' || quote_ident(c.table_name))::regclass "
                "and a.attname = c.column_name where table_schema = 'raw' and table_name = %s "
                "order by ordinal_position", (ds.name,)).fetchall()
            got = [(n, t) for n, t in cols if not n.startswith("_")]
            want = [(c.name, c.pg_type) for c in ds.columns]
            assert [n for n, _ in got] == [n for n, _ in want]
            for (n, t), c in zip(got, ds.columns, strict=True):
                assert t == canonical[c.pg_type], (ds.name, n, t, c.pg_type)
            assert ddl.landing_table(ds, 7) == f"{ds.name}_g7"
