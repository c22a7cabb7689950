"""Supervisors' dispositions of flow alerts (#12 item 6): `supervision flows dispose` stores the decision
through ops.record_disposition with the alert's typology, account and period; an unknown alert or
disposition is one clear line and exit code 2."""

from __future__ import annotations

import pytest

from include.flows.dispose import main


def test_dispose_records_the_decision(built_warehouse, capsys):
    with built_warehouse.connect() as conn:
        alert_id, typology, account, period = conn.execute(
            "select alert_id, top_typology, account_no, period from marts_flows.flow_alerts "
            "order by flow_score desc limit 1").fetchone()
    assert main(["dispose", alert_id, "under_review"]) == 0
    assert main(["dispose", alert_id, "confirmed", "--note", "case opened by the bureau"]) == 0
    assert "confirmed" in capsys.readouterr().out
    with built_warehouse.connect() as conn:
        row = conn.execute("select disposition, rule_code, entity_id, period, note, decided_by "
                           "from ops.alert_disposition_current where alert_kind = 'flow_alert' and alert_id = %s",
                           (alert_id,)).fetchone()
    assert row == ("confirmed", f"flow_typology:{typology}", account, period, "case opened by the bureau",
                   "transformer")
    with built_warehouse.connect() as conn:  # the shared warehouse: leave no confirmed lead for other tests
        conn.execute("delete from ops.alert_disposition where alert_kind = 'flow_alert' and alert_id = %s",
                     (alert_id,))
        conn.commit()


def test_unknown_alert_is_one_line_and_exit_2(built_warehouse, capsys):
    assert main(["dispose", "X:no-such-account:2025-01-31", "confirmed"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no flow alert" in err[0]


def test_unknown_disposition_is_refused(built_warehouse):
    with pytest.raises(SystemExit) as e:
        main(["dispose", "whatever", "maybe"])
    assert e.value.code == 2
