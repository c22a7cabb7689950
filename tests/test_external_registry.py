"""The external feed registry agrees with the raw_ext tables generated from it and with what the feeds serve."""

from __future__ import annotations

import pytest

from include.registry.feeds import FEEDS, LINEAGE_COLUMNS
from simulator.external import SPECS

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


def test_gate_names_feed_page_record_rule_and_masks_personal_values(warehouse):
    from include.external.client import FeedShapeError, Page
    from include.external.gate import check_shape, screen

    good = {"case_no": "(2025)浙0701执102号", "party_type": "自然人", "party_id": "330701********1234",
            "party_name": "王小明", "court": "金华市中级人民法院", "filed_date": "2025-01-04", "amount": 1000.0,
            "list_type": "被执行人", "status": "执行中", "version": 1, "updated_at": "2025-01-06T17:10:57+08:00"}
    bad_type = {**good, "case_no": "A2", "party_name": ["王小明"]}
    bad_date = {**good, "case_no": "A3", "filed_date": 20250104}
    bad_uscc = {**good, "case_no": "A4", "party_type": "企业", "party_id": "91330701MAYW39383X",
                "party_name": "金华安达物流有限公司"}
    missing = {k: v for k, v in good.items() if k != "court"} | {"case_no": "A5"}
    midnight = {**good, "case_no": "A6", "filed_date": "2025-01-04T00:00:00"}  # a date serialised as a datetime
    page = Page("court_enforcement", 3, 7, "http://x", [good, bad_type, bad_date, bad_uscc, missing, midnight],
                None, None)
    check_shape(FEEDS["court_enforcement"], page)
    with warehouse.connect() as c:
        out = screen(c, FEEDS["court_enforcement"], page)
    assert [s.accepted for s in out] == [True, False, False, False, False, True]
    assert out[5].values["filed_date"] == out[0].values["filed_date"]
    assert [s.rule for s in out[1:5]] == ["court_enforcement_type_party_name", "court_enforcement_type_filed_date",
                                         "court_party_uscc", "court_enforcement_mandatory"]
    assert out[1].reason.startswith("feed 'court_enforcement' page 3 record 1 (case_no='A2', version 1): "
                                    "field 'party_name': expected text")
    assert "王小明" not in out[1].reason and "[******" in out[1].reason  # masked by the pii kind of the field
    assert "20250104" in out[2].reason and "not a valid USCC" in out[3].reason and "missing" in out[4].reason
    renamed = {("party" if k == "party_name" else k): v for k, v in good.items()}
    with pytest.raises(FeedShapeError, match=r"page 3 record 0 .*unexpected field\(s\) \['party'\].*party_name"):
        check_shape(FEEDS["court_enforcement"], Page("court_enforcement", 3, 7, "http://x", [renamed], None, None))
