"""Supervisory action marts (#16 items 1, 2, 6) on a private copy of the tiny/11 build (the tests record
an override and a disposition and rebuild marts: nothing to undo in the shared warehouse): the rating
worksheet and a supervisor's override (who and why, through ops.record_rating_override), the stress test's
system view against its detail, and the rule catalogue's activity against the warnings and their dispositions."""

from __future__ import annotations

import psycopg
import pytest

from tests.test_rls import _login

NOTE = "test_supervision_marts fixture"


@pytest.fixture(scope="module")
def wh(built_copy):
    return built_copy


def _rows(wh, q, args=()):
    with wh.connect() as conn:
        return conn.execute(q, args).fetchall()


def test_rating_worksheet_and_a_supervisors_override(wh):
    from include.cli.warehouse import _dbt

    rows = _rows(wh, "select institution_code, bureau_code, rating_year, total_score, proposed_grade, "
                     "proposed_sub_grade, weight_scored from marts_supervision.rating_worksheet order by 1")
    insts = _rows(wh, "select count(distinct institution_code) from marts_prudential.prudential_indicators")[0][0]
    assert len(rows) == insts > 0
    for _code, _bureau, _year, score, grade, sub, weight in rows:
        assert 0 <= score <= 100 and grade in {"1", "2", "3", "4", "5", "6"} and sub.startswith(grade)
        assert 0 < weight <= 0.75  # market risk, IT risk and the institution-specific factor are never scored here
    code, bureau, year = rows[0][:3]
    with _login(wh, f"sup_{bureau.lower()}") as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="needs a reason"):
            conn.execute("select ops.record_rating_override(%s, %s, '4', '')", (code, year))
        conn.rollback()
        conn.execute("select ops.record_rating_override(%s, %s, '4', %s, '4B')", (code, year, NOTE))
        conn.commit()
    assert _dbt(["build", "--select", "rating_worksheet"], check=False).returncode == 0
    (final, by, reason, override), = _rows(
        wh, "select final_grade, override_by, override_reason, override_grade "
            "from marts_supervision.rating_worksheet where institution_code = %s and rating_year = %s",
        (code, year))
    assert (final, by, reason, override) == ("4", f"sup_{bureau.lower()}", NOTE, "4")


def test_stress_system_view_adds_up(wh):
    detail = dict(((p, s, lv, b), (n, f, sh)) for p, s, lv, b, n, f, sh in _rows(
        wh, "select period, scenario_code, level, bureau_code, count(*), count(*) filter (where not passed), "
            "sum(capital_shortfall) from marts_prudential.stress_test_results group by 1, 2, 3, 4"))
    system = {(p, s, lv, b): (n, f, sh) for p, s, lv, b, n, f, sh in _rows(
        wh, "select period, scenario_code, level, bureau_code, institutions_tested, institutions_failed, "
            "total_capital_shortfall from marts_prudential.stress_test_system")}
    assert system == detail and len({k[1:3] for k in system}) == 8  # 4 scenarios x mild/severe
    # severe never hurts less than mild (same institution, quarter, scenario)
    worse = _rows(wh, "select count(*) from marts_prudential.stress_test_results m "
                      "join marts_prudential.stress_test_results s using (institution_code, period, scenario_code) "
                      "where m.level = 'mild' and s.level = 'severe' and s.post_total_car > m.post_total_car")
    assert worse[0][0] == 0


def test_rule_activity_counts_warnings_and_dispositions(wh):
    from include.cli.warehouse import _dbt

    fired = dict(_rows(wh, "select rule_code, count(*) from marts_warnings.warnings group by 1"))
    uncatalogued = _rows(wh, "select distinct rule_code from marts_warnings.warnings where rule_name_en is null")
    assert uncatalogued == []
    warning_id, rule = _rows(wh, "select warning_id, rule_code from marts_warnings.warnings "
                                 "where rule_code like 'threshold_breach:%%' order by 1 limit 1")[0]
    with wh.connect() as conn:
        conn.execute("select ops.record_disposition('warning', %s, 'false_positive', %s)", (warning_id, NOTE))
        conn.commit()
    assert _dbt(["build", "--select", "rule_activity"], check=False).returncode == 0
    activity = {r: (f, c, d, o) for r, f, c, d, o in _rows(
        wh, "select rule_code, sum(fired), sum(confirmed), sum(dismissed), sum(open) "
            "from marts_warnings.rule_activity group by 1")}
    assert {r: v[0] for r, v in activity.items()} == fired
    f, c, d, o = activity[rule]
    assert d >= 1 and c + d + o == f
