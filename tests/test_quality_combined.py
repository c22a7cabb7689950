"""The failing batches of a group validated in one combined GX details run, split per batch
(include/ingest/combined.py): each batch gets exactly what validating its rows alone gives."""

from __future__ import annotations

import pytest

from include.ingest import combined, gx_runtime, quality
from include.registry.datasets import get
from include.registry.ddl import landing_table
from tests.test_quality import (
    CAPITAL,
    PERIOD,
    VALID_RESIDENT_ID,
    VALID_USCC,
    _batch_ids,
    _group,
    _shifted,
    capital_rows,
    landing,
    lines,
    loader_url,
    rule,
)

__all__ = ["landing", "loader_url"]  # fixtures used by the tests below


def _seen(outcome: quality.ValidationOutcome) -> list[tuple]:
    return [(r.rule_name, r.success, r.element_count, r.unexpected_count, r.examples, r.error)
            for r in outcome.results]


@pytest.mark.parametrize("way", ["whole_group", "attributed"])
def test_failing_batches_in_one_run_get_what_each_gets_alone(landing, loader_url, monkeypatch, way):
    """Both ways a failing group is split per batch: the one details run over the whole kept table
    (``whole_group``, the usual one), and, where that cannot split, the attributed failing batches copied
    and run together (``_together``)."""
    many_nulls = _shifted(capital_rows(25), 100)  # 25 offending lines: only the lowest 20 are examples
    for row in many_nulls:
        row["total_capital"] = None
    dup_and_negative = _shifted(capital_rows(3), 200) + _shifted(capital_rows(1), 200)  # key twice: unique
    dup_and_negative[1]["cet1_capital"] = "-5"
    untyped = _shifted(capital_rows(24), 300)  # 23 uncastable amounts: an SQL rule with > 20 rows
    for row in untyped[1:]:
        row["total_rwa"] = "12,5"
    tiers = _shifted(capital_rows(3), 400)  # a warning only (cet1 > tier1): fails, yet passes the gate
    tiers[2]["cet1_capital"] = "950.00"
    # the same key in two batches: a duplicate for the group screen, none within either batch
    shared_a, shared_b = _shifted(capital_rows(2), 500), _shifted(capital_rows(2), 500)
    batches = [(_shifted(capital_rows(2), 10 * i), PERIOD) for i in range(4)]
    batches[1:1] = [(rows, PERIOD) for rows in (many_nulls, dup_and_negative, untyped, tiers, shared_a, shared_b)]
    table, members = _group(landing, batches)
    ids = list(members)

    runs: list[tuple[list[int], bool]] = []
    together, whole = combined._together, combined.whole_group

    def spy_together(group, chunk, screened, columns):
        ok = together(group, chunk, screened, columns)
        runs.append((list(chunk), ok))
        return ok

    def spy_whole(group, chunk, screened):
        ok = whole(group, chunk, screened) if way == "whole_group" else False
        if ok:
            runs.append((list(chunk), ok))
        return ok

    monkeypatch.setattr(combined, "_together", spy_together)
    monkeypatch.setattr(combined, "whole_group", spy_whole)
    outcomes = quality.validate_group(loader_url, table, CAPITAL, members)

    assert len(runs) == 1 and runs[0][1], runs  # one combined run, split
    assert set(runs[0][0]) >= {ids[1], ids[2], ids[3], ids[4]}
    assert sorted(i for i, o in outcomes.items() if not o.passed) == [ids[1], ids[2], ids[3]]
    for n, rows in ((1, many_nulls), (2, dup_and_negative), (3, untyped), (4, tiers), (5, shared_a),
                    (6, shared_b)):
        alone = quality.validate_landing(loader_url, landing(CAPITAL, rows), CAPITAL, PERIOD)
        assert _seen(outcomes[ids[n]]) == _seen(alone), n
    nulls = rule(outcomes[ids[1]], "capital_report_not_null")
    assert (nulls.unexpected_count, lines(nulls)) == (25, list(range(1, 21)))
    assert not rule(outcomes[ids[2]], "capital_key_unique").success
    assert lines(rule(outcomes[ids[2]], "capital_key_unique")) == [1, 4]
    assert lines(rule(outcomes[ids[2]], "capital_components_non_negative")) == [2]
    untyped_rule = rule(outcomes[ids[3]], "type_total_rwa")
    assert (untyped_rule.unexpected_count, lines(untyped_rule)) == (23, list(range(2, 22)))
    assert not rule(outcomes[ids[4]], "capital_tiers_ordered").success and outcomes[ids[4]].passed
    for n in (5, 6):  # unique per batch: the key shared across the two files is no duplicate in either
        assert rule(outcomes[ids[n]], "capital_key_unique").success and outcomes[ids[n]].passed


def test_only_row_local_rules_are_combined():
    class _Cfg:
        def __init__(self, kind):
            self.meta = {"kind": kind}

    class _Result:
        def __init__(self, kind):
            self.expectation_config = _Cfg(kind)

    assert combined.combinable([_Result("not_null"), _Result("references"), _Result("unique"),
                                _Result("period_match")])
    assert not combined.combinable([_Result("some_new_kind")])


def test_batches_with_a_wrong_period_in_one_run_get_what_each_gets_alone(landing, loader_url, monkeypatch):
    """Batches whose period column differs from their submission's, in the group screen with the others:
    each row's period is compared with its own submission's, so a row carrying another batch's period still
    fails (a shared period parameter would pass it); each batch gets what it gets alone."""
    other = "2024-06-30"
    crossed_a = _shifted(capital_rows(3), 600)  # submitted for PERIOD, one row says `other`
    crossed_a[1]["report_period"] = other
    crossed_b = _shifted(capital_rows(3, period=other), 700)  # submitted for `other`, one row says PERIOD
    crossed_b[2]["report_period"] = PERIOD
    messy = _shifted(capital_rows(4), 800) + _shifted(capital_rows(1), 800)  # a duplicate key, a missing period,
    messy[1]["report_period"] = None  # a null capital and an uncastable one
    messy[2]["total_capital"] = None
    messy[3]["cet1_capital"] = "abc"
    batches = [(_shifted(capital_rows(2), 10 * i), PERIOD) for i in range(3)]
    batches += [(crossed_a, PERIOD), (crossed_b, other), (messy, PERIOD)]
    table, members = _group(landing, batches)
    ids = list(members)

    screens: list[int] = []
    real, singles = quality._GroupValidation.screen, []

    def counted(self, batch_ids, keep=False, view=False):
        screens.append(len(batch_ids))
        return real(self, batch_ids, keep, view)

    monkeypatch.setattr(quality._GroupValidation, "screen", counted)
    monkeypatch.setattr(quality._GroupValidation, "single", lambda self, i: singles.append(i))
    outcomes = quality.validate_group(loader_url, table, CAPITAL, members)
    monkeypatch.undo()

    assert screens == [len(ids)] and not singles  # one screen of the whole group, no batch alone
    assert sorted(i for i, o in outcomes.items() if not o.passed) == ids[3:]
    for n, rows, period in ((3, crossed_a, PERIOD), (4, crossed_b, other), (5, messy, PERIOD)):
        alone = quality.validate_landing(loader_url, landing(CAPITAL, rows), CAPITAL, period)
        assert _seen(outcomes[ids[n]]) == _seen(alone), n
    assert lines(rule(outcomes[ids[3]], "report_period_matches")) == [2]
    assert lines(rule(outcomes[ids[4]], "report_period_matches")) == [3]
    assert not rule(outcomes[ids[5]], "capital_key_unique").success
    for n in range(3):
        assert outcomes[ids[n]].passed


def test_more_failing_batches_than_gx_returns_rows_split_in_chunks(landing, loader_url, monkeypatch):
    """An SQL rule failing in more batches than GX returns result rows of (``chunk_size()``, 200): the whole
    group's details run goes in chunks of that many batches, each split per batch, and the group takes none
    of the longer ways (attribution, copies, bisection); each batch gets what it gets alone."""
    size = combined.chunk_size()
    shapes = []
    for i in range(size + 5):  # every batch: an uncastable amount (an SQL rule); some also a missing one
        rows = _shifted(capital_rows(2), 10 * i)
        rows[i % 2]["total_rwa"] = "12,5"
        if i % 7 == 0:
            rows[1 - i % 2]["total_capital"] = None
        shapes.append(rows)
    table, members = _group(landing, [(rows, PERIOD) for rows in shapes])
    ids = list(members)

    def refused(*args, **kwargs):
        raise AssertionError("the longer way was taken")

    for name in ("attribute", "detail", "single", "solve"):
        monkeypatch.setattr(quality._GroupValidation, name, refused)
    outcomes = quality.validate_group(loader_url, table, CAPITAL, members)
    monkeypatch.undo()

    assert sorted(i for i, o in outcomes.items() if not o.passed) == ids
    for n in (0, 1, 7, size - 1, size, size + 4):  # both shapes, on both sides of the chunk boundary
        alone = quality.validate_landing(loader_url, landing(CAPITAL, shapes[n]), CAPITAL, PERIOD)
        assert _seen(outcomes[ids[n]]) == _seen(alone), n
    for n, i in enumerate(ids):
        assert (rule(outcomes[i], "type_total_rwa").unexpected_count, lines(rule(outcomes[i], "type_total_rwa"))) \
            == (1, [n % 2 + 1])


CORPORATE = get("customer_corporate")  # every column-map kind GX runs for us: in_set, regex, between, pair, ...


def corporate_rows(n: int, first: int = 1, period: str = PERIOD) -> list[dict]:
    return [{"institution_code": "B0001", "report_period": period, "customer_id": f"C{i:06d}", "uscc": VALID_USCC,
             "name": f"Firm {i}", "industry_code": "C", "region_code": "110000", "registered_capital": "1000.00",
             "founded_date": "2001-05-01", "legal_rep_name": "张三", "legal_rep_resident_id": VALID_RESIDENT_ID,
             "onboard_date": "2010-01-01"} for i in range(first, first + n)]


def _corporate_group(landing, batches: list[list[dict]]) -> tuple[str, dict[int, tuple[str, int]]]:
    first = next(_batch_ids)
    table = landing_table(CORPORATE, first)
    members = {}
    for i, rows in enumerate(batches):
        batch_id = first if i == 0 else next(_batch_ids)
        landing(CORPORATE, rows, table=table, batch_id=batch_id)
        members[batch_id] = (PERIOD, len(rows))
    return table, members


def _edit(rows: list[dict], changes: dict[int, dict]) -> list[dict]:
    return [{**row, **changes.get(n, {})} for n, row in enumerate(rows)]


def test_a_failing_group_needs_no_gx_details_run(landing, loader_url, monkeypatch):
    """A failing group's failed expectations, column-map (not_null, in_set, regex, between, column pair, period)
    and SQL ones, are run over the kept typed table by the queries GX's details run would send, without GX
    (combined.own_results): the group takes one GX run (its screen), no details checkpoint; each batch gets
    exactly what GX's details run gives it (GX's way forced by another GX release) and what its own validation
    alone gives, boundary values and nulls included."""
    batches = [
        corporate_rows(2, 1),
        _edit(corporate_rows(4, 10), {0: {"registered_capital": "0"}, 1: {"registered_capital": "10000000000000000"},
                                      2: {"region_code": "000000"}, 3: {"founded_date": "2010-01-01"}}),  # passes
        _edit(corporate_rows(3, 20), {0: {"registered_capital": "-0.01"},
                                      2: {"registered_capital": "10000000000000000.01"}}),  # between
        _edit(corporate_rows(4, 30), {0: {"industry_code": "Z"}, 1: {"industry_code": "c"},
                                      3: {"industry_code": None}}),  # in_set; a null: not_null only
        _edit(corporate_rows(5, 40), {0: {"region_code": "11000"}, 1: {"region_code": "1100000"},
                                      2: {"region_code": "11000a"}, 4: {"region_code": None}}),  # regex
        _edit(corporate_rows(3, 50), {0: {"founded_date": "2011-01-01"},  # column pair (a warning), nulls
                                      1: {"onboard_date": None}, 2: {"founded_date": None, "onboard_date": None}}),
        _edit(corporate_rows(3, 60), {1: {"report_period": "2024-06-30"}, 2: {"uscc": "91350100M000100Y44"}}),
        corporate_rows(2, 1) + corporate_rows(1, 1),  # a key twice in one file: unique, an SQL rule
        corporate_rows(2, 70),
    ]
    table, members = _corporate_group(landing, batches)
    ids = list(members)

    runs, checkpoints = [], []
    real_run, real_checkpoint = gx_runtime._Runtime.run, gx_runtime._Runtime.details_checkpoint

    def counted_run(self, checkpoint, *args, **kwargs):
        runs.append(checkpoint.name)
        return real_run(self, checkpoint, *args, **kwargs)

    def counted_checkpoint(self, *args, **kwargs):
        checkpoints.append(1)
        return real_checkpoint(self, *args, **kwargs)

    monkeypatch.setattr(gx_runtime._Runtime, "run", counted_run)
    monkeypatch.setattr(gx_runtime._Runtime, "details_checkpoint", counted_checkpoint)
    outcomes = quality.validate_group(loader_url, table, CORPORATE, members)
    assert (len(runs), checkpoints) == (1, []), runs  # the screen only

    monkeypatch.setattr(combined, "OWN_GX_VERSION", "another release")  # GX's details run, as before
    by_gx = quality.validate_group(loader_url, table, CORPORATE, members)
    assert len(runs) == 3 and len(checkpoints) == 1, runs  # a screen and a details run
    monkeypatch.undo()

    assert sorted(i for i, o in outcomes.items() if not o.passed) == [ids[n] for n in (2, 3, 4, 5, 6, 7)]
    for n, rows in enumerate(batches):
        alone = quality.validate_landing(loader_url, landing(CORPORATE, rows), CORPORATE, PERIOD)
        assert _seen(outcomes[ids[n]]) == _seen(by_gx[ids[n]]) == _seen(alone), n
        assert outcomes[ids[n]].passed == alone.passed
    # 1e16 + 0.01 passes: GX binds the bound 1e16 as a float, and compares the value as one (own_results too)
    assert lines(rule(outcomes[ids[2]], "customer_corporate_amounts_non_negative")) == [1]
    assert lines(rule(outcomes[ids[3]], "customer_corporate_industry_known")) == [1, 2]
    assert lines(rule(outcomes[ids[4]], "customer_corporate_region_format")) == [1, 2, 3]
    pair = rule(outcomes[ids[5]], "customer_corporate_founded_before_onboard")
    assert (pair.success, lines(pair)) == (False, [1])  # one date missing, or both: not the pair's (not_null's)
    assert lines(rule(outcomes[ids[6]], "report_period_matches")) == [2]
    assert not rule(outcomes[ids[7]], "customer_corporate_key_unique").success


def test_only_what_gx_would_select_is_restated():
    """combined._unexpected_condition restates GX 1.24.1's conditions only where they hold as written: the
    period parameter is the group table's OWN_PERIOD; ``mostly``, strict bounds, another ``ignore_row_if`` or
    an expectation type it does not know leave the group to GX's details run (None)."""
    from sqlalchemy.dialects import postgresql

    class _Cfg:
        def __init__(self, type_, **kwargs):
            self.type, self.kwargs = type_, kwargs

    def sql(cfg) -> str:
        condition, _ = combined._unexpected_condition(cfg)
        return str(condition.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))

    period = sql(_Cfg(combined._IN_SET, column="report_period__period", value_set={"$PARAMETER": "period"}))
    own = combined.OWN_PERIOD.replace("'", "''")
    assert period == f"report_period__period IS NOT NULL AND (report_period__period NOT IN ('{own}'))"
    assert sql(_Cfg(combined._NOT_NULL, column="x")) == "x IS NULL"  # nulls are what it finds
    assert "x IS NOT NULL" in sql(_Cfg(combined._BETWEEN, column="x", min_value=0, max_value=1))  # nulls skipped
    assert combined._unexpected_condition(_Cfg(combined._PAIR, column_A="a", column_B="b", or_equal=True))[1] == \
        ["a", "b"]
    for cfg in (_Cfg(combined._NOT_NULL, column="x", mostly=0.9),
                _Cfg(combined._BETWEEN, column="x", min_value=0, max_value=1, strict_min=True),
                _Cfg(combined._BETWEEN, column="x", min_value=0),
                _Cfg(combined._IN_SET, column="x", value_set=[]),
                _Cfg(combined._PAIR, column_A="a", column_B="b", ignore_row_if="either_value_is_missing"),
                _Cfg("expect_column_values_to_be_unique", column="x")):
        assert combined._unexpected_condition(cfg) is None, cfg.type
