"""The account model (#12 item 3) on a private copy of the session's built warehouse (tiny/11, ``built_copy``:
the tests confirm alerts and score, nothing to undo): the account panel
(marts_features.account_month_training) takes its labels from the regulator's illegal-fundraising cases
against the holder and from supervisors' confirmed flow alerts (ops.record_disposition), never from the
simulator's answers, and the ACCOUNT preset trains out of time and scores on it."""

from __future__ import annotations

import pandas as pd
import pytest

pytestmark = pytest.mark.slow
MODELS = ["--select", "stg_flows__confirmed_flow_alerts", "account_month_training"]
SERVING = ["--select", "flow_alerts", "firm_portrait"]
NOTE = "test_ml_account"


def _frame(wh, sql: str, params=()) -> pd.DataFrame:
    with wh.connect() as conn:
        cur = conn.execute(sql, params)
        return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def _training(wh) -> pd.DataFrame:
    return _frame(wh, "select * from marts_features.account_month_training")


def test_case_labels_come_from_the_regulators_case_records(built_copy):
    t = _training(built_copy)
    cases = _frame(built_copy, "select uscc, report_period from staging.stg_submissions__regulator_cases "
                               "where entity_type = '企业' and case_type = '非法集资'")
    from_cases = t[t["first_case_period"].notna()]
    complete = from_cases["months_observed"] == 6  # a right-censored month has no label (test below)
    assert complete.any() and (from_cases.loc[complete, "label_case_6m"] == 1).all()
    for r in from_cases.itertuples():
        theirs = cases[cases["uscc"] == r.holder_uscc]["report_period"]
        ahead = [p for p in theirs if r.period < p <= (pd.Timestamp(r.period) + pd.offsets.MonthEnd(6)).date()]
        assert min(ahead) == r.first_case_period
    # holders with a case already opened at t are left out (the regulator knows them)
    for uscc, opened in cases.itertuples(index=False):
        assert not ((t["holder_uscc"] == uscc) & (t["period"] >= opened)).any()
    assert set(t["label_case_6m"].dropna().unique()) <= {0, 1}


def test_the_account_panel_keeps_only_complete_six_month_labels(built_copy):
    """Labelled only where all six months ahead are observed; a right-censored month (1 to 5 observed) has no
    label, not even a positive already seen (bench/README, 7 Dec censor8); the complete ones are 1 exactly
    when a case or a confirmed alert falls in the window."""
    t = _training(built_copy)
    assert t["months_observed"].between(1, 5).any() and (t["months_observed"] == 6).any()
    assert t.loc[t["months_observed"] < 6, "label_case_6m"].isna().all()
    complete = t[t["months_observed"] == 6]
    seen = complete["first_case_period"].notna() | complete["first_confirmed_period"].notna()
    assert (complete["label_case_6m"].astype(int) == seen.astype(int)).all()


@pytest.fixture(scope="module")
def confirmed(built_copy):
    """A supervisor confirms the first-ranked flow alert of each of the last four labelled months (in the
    module's private copy of the built warehouse: nothing to undo)."""
    from include.cli.warehouse import _dbt

    t = _training(built_copy)
    months = sorted(t[t["label_case_6m"].notna()]["period"].unique())[-4:]
    alerts = _frame(built_copy, "select alert_id, account_no, institution_code, period "
                                "from marts_flows.flow_alerts "
                                "where queue_rank = 1 and period = any(%s) order by period, bureau_code",
                    (list(months),)).drop_duplicates("period")
    assert len(alerts) == 4
    with built_copy.connect() as conn:
        for a in alerts.itertuples():
            conn.execute("select ops.record_disposition('flow_alert', %s, 'confirmed', %s)", (a.alert_id, NOTE))
        conn.commit()
    assert _dbt(["build", *MODELS], check=False).returncode == 0
    return alerts


def test_a_confirmed_flow_alert_labels_its_account(built_copy, confirmed):
    t = _training(built_copy).set_index(["institution_code", "account_no", "period"])
    for a in confirmed.itertuples():
        row = t.loc[(a.institution_code, a.account_no, a.period)]
        assert row["label_case_6m"] == 1 and row["first_confirmed_period"] == a.period


def test_the_account_preset_trains_out_of_time_and_scores(built_copy, confirmed):
    from include.cli.warehouse import _dbt
    from ml import dag_tasks, scoring, workflow
    from ml.presets import ACCOUNT
    from ml.train import TrainConfig

    url = built_copy.role_url("scorer")
    panel = dag_tasks.panel("account", url)
    name = "account_risk_test"  # not the preset's own name: no champion appears for the other tests
    out = workflow.train_one(panel, name, "logreg", TrainConfig(min_train_periods=6))
    print(f"account model on tiny/11: {len(panel.labelled)} labelled account-months, "
          f"{int(panel.labelled[ACCOUNT.spec.label].sum())} positive; holdout {out['holdout']}; "
          f"baseline (flow_score) {out['baseline']}")
    assert out["version"] and out["holdout"]["positives"] > 0 and out["baseline"] is not None
    scored = scoring.score(panel, name, ACCOUNT.entity_type, url, texts=ACCOUNT.texts, ref=out["version"])
    latest = panel.frame[panel.frame["period"] == max(panel.periods(labelled_only=False))]
    rows = _frame(built_copy, "select entity_id from ml.risk_scores where model_name = %s "
                              "and entity_type = 'account'", (name,))
    assert scored["entities"] == len(latest) == len(rows) > 10
    assert set(rows["entity_id"]) == set(latest["account_key"])
    # the score joins the queue and the firm portrait
    assert _dbt(["build", *SERVING], check=False).returncode == 0
    period = max(panel.periods(labelled_only=False)).date()
    alerts = _frame(built_copy, "select account_risk_probability from marts_flows.flow_alerts "
                                "where period = %s", (period,))
    assert len(alerts) > 0 and alerts["account_risk_probability"].notna().all()
    firms = _frame(built_copy, "select max_account_risk_probability from marts_portraits.firm_portrait "
                               "where max_account_risk_probability is not null")
    assert len(firms) > 0 and firms["max_account_risk_probability"].between(0, 1).all()
