"""The external feed registry agrees with the tables of migration 010 and with what the feeds serve."""

from __future__ import annotations

import pytest

from include.external.feeds import FEEDS, LINEAGE_COLUMNS
from include.simulate.external import SPECS

PG_NAMES = {"text": "text", "integer": "integer", "numeric": "numeric", "date": "date",
            "timestamptz": "timestamp with time zone", "jsonb": "jsonb"}


def test_registry_covers_every_served_feed_field_in_order():
    assert set(FEEDS) == set(SPECS)
    for name, feed in FEEDS.items():
        assert feed.field_names == SPECS[name].fields, name
        assert feed.key == SPECS[name].key
        assert set(SPECS[name].mandatory) <= set(feed.mandatory), name


@pytest.mark.parametrize("suffix", ["", "_history"])
def test_raw_ext_tables_match_the_registry(warehouse, suffix):
    with warehouse.connect() as c:
        for name, feed in FEEDS.items():
            cols = c.execute("select column_name, data_type from information_schema.columns "
                             "where table_schema = 'raw_ext' and table_name = %s order by ordinal_position",
                             (name + suffix,)).fetchall()
            assert [n for n, _ in cols] == [*feed.field_names, *LINEAGE_COLUMNS], name + suffix
            types = dict(cols)
            for col in feed.columns:
                assert types[col.name] == PG_NAMES[col.pg_type.split("(")[0]], (name, col.name)
            pk = c.execute("select array_agg(a.attname order by a.attnum) from pg_index i join pg_attribute a "
                           "on a.attrelid = i.indrelid and a.attnum = any(i.indkey) where i.indisprimary "
                           "and i.indrelid = %s::regclass", (f"raw_ext.{name}{suffix}",)).fetchone()[0]
            assert sorted(pk) == sorted([feed.key, "version"] if suffix else [feed.key]), name + suffix
