"""One source of truth in the dbt project (issue #11), on the session's built warehouse (tiny/11):
capital_adequacy shows int_prudential__indicators' ratios and flags exactly the breaches that
prudential_indicators reports."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_capital_adequacy_is_the_indicators_and_their_breaches(built_warehouse):
    from include.cli.warehouse import _dbt

    # rebuilt together from the current raw data: other tests of the session (test_ml_features) add and
    # remove institutions and rebuild only the models their marts need
    _dbt(["run", "--quiet", "--select", "int_prudential__indicators", "capital_adequacy", "prudential_indicators"])
    with built_warehouse.connect() as conn:
        mismatched = conn.execute("""
            select c.institution_code, c.period
            from marts_prudential.capital_adequacy c
            left join intermediate.int_prudential__indicators i
                on i.institution_code = c.institution_code and i.period = c.period
            left join marts_prudential.prudential_indicators p
                on p.institution_code = c.institution_code and p.period = c.period
                and p.indicator_code = 'total_car'
            where i.institution_code is null
               or c.total_car is distinct from round(i.total_car, 6)
               or c.cet1_car is distinct from round(i.cet1_car, 6)
               or c.bureau_code is distinct from i.bureau_code
               or c.car_below_minimum is distinct from p.is_breach
               or c.car_minimum is distinct from p.threshold_value""").fetchall()
        counts = conn.execute("""
            select count(*), count(*) filter (where car_below_minimum),
                   (select count(*) from intermediate.int_prudential__indicators where capital_batch_id is not null)
            from marts_prudential.capital_adequacy""").fetchone()
    assert not mismatched, mismatched
    assert counts[0] == counts[2] > 0 and counts[1] > 0  # every capital report; tiny/11 plants a breach

