"""The failing batches of a group validated in one combined GX details run, split per batch
(include/ingest/combined.py): each batch gets exactly what validating its rows alone gives."""

from __future__ import annotations

import pytest

from include.ingest import combined, quality
from tests.test_quality import CAPITAL, PERIOD, _group, _shifted, capital_rows, landing, lines, loader_url, rule

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
