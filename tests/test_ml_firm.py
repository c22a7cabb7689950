"""The firm early-warning model on the session's built warehouse (tiny/11, tests/test_warehouse_build.py):
the firm feature mart is point-in-time (built on history truncated at a month, it gives the same features
for every month up to it as built on the whole history), its labels are the regulator's own case records,
and the FIRM preset trains and scores on it.

The built warehouse has no external feeds loaded, so a few external records (court cases, a registry
change, advert leads, news) are inserted for one firm before and after the cut-off, keyed ``PITF-*``, in a
private copy of the built warehouse (``built_copy``): nothing to remove or rebuild afterwards.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest

pytestmark = pytest.mark.slow
CUT = date(2025, 6, 30)  # tiny/11: its two firm cases (Sep and Oct 2025) are after it
KEY = "PITF-"
CST = timezone(timedelta(hours=8))
# the firm resolution and the external events the inserted records pass through, then the firm marts
MODELS = ["int_entities__firm_mentions", "int_entities__firm_links", "int_firms__external_events",
          "firm_month_features", "firm_month_labels", "firm_month_training"]


LINEAGE = "fetch_id, request_no, page_no, record_index, fetched_at, record_sha256, record"
LINEAGE_VALUES = "0, 0, 0, 0, now(), 'test', '{}'"  # the extractor's lineage columns, required


def _insert_external(conn, uscc: str, name: str) -> None:
    """One record of each external kind dated in May 2025 (before the cut) and one in August (after it)."""
    for i, when in enumerate((datetime(2025, 5, 10, 9, tzinfo=CST), datetime(2025, 8, 20, 9, tzinfo=CST))):
        conn.execute("insert into raw_ext.court_enforcement (case_no, party_type, party_id, party_name, court, "
                     f"filed_date, amount, list_type, status, version, updated_at, {LINEAGE}) values "
                     f"(%s, '企业', %s, %s, '测试法院', %s, 500000, '被执行人', '执行中', 1, now(), {LINEAGE_VALUES})",
                     (f"{KEY}C{i}", uscc, name, when.date()))
        conn.execute("insert into raw_ext.registry_changes (change_id, uscc, name, change_type, change_date, "
                     f"version, updated_at, {LINEAGE}) values (%s, %s, %s, '法定代表人变更', %s, 1, now(), "
                     f"{LINEAGE_VALUES})", (f"{KEY}R{i}", uscc, name, when.date()))
        conn.execute(f"insert into raw_ext.advert_leads (lead_id, advertiser, text, captured_at, version, updated_at, "
                     f"{LINEAGE}) values (%s, %s, '保本保息，月返2%%', %s, 1, now(), {LINEAGE_VALUES})",
                     (f"{KEY}A{i}", name, when))
        conn.execute("insert into raw_ext.advert_lead_flag (lead_id, lead_version, advertiser, linked_entity_type, "
                     "linked_entity_id, link_method, illegal_promo, promo_score, matched_phrases, lexicon_version) "
                     "values (%s, 1, %s, 'firm', %s, 'exact_full', true, 3, '[]', 'test')",
                     (f"{KEY}A{i}", name, uscc))
        conn.execute(f"insert into raw_ext.news (news_id, source, published_at, text, version, updated_at, {LINEAGE}) "
                     f"values (%s, '测试', %s, %s, 1, now(), {LINEAGE_VALUES})",
                     (f"{KEY}N{i}", when, f"{name}疑似暴雷"))
        conn.execute("insert into raw_ext.news_entity_link (news_id, news_version, start_pos, end_pos, surface, "
                     "entity_type, entity_id, name_form, ambiguous, candidates, resolution) values "
                     "(%s, 1, 0, 2, %s, 'firm', %s, 'full', false, 1, 'unique')", (f"{KEY}N{i}", name, uscc))
        conn.execute("insert into raw_ext.news_tone (news_id, news_version, tone, risk_score, matched_terms, "
                     "lexicon_version) values (%s, 1, 'negative', 2, '[]', 'test')", (f"{KEY}N{i}",))


def _frame(conn, table: str) -> pd.DataFrame:
    """The mart's rows, without the build watermarks (built_*: which build wrote a row, not data)."""
    cur = conn.execute(f"select * from marts_features.{table} order by firm_uscc, period")
    frame = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])
    return frame.drop(columns=[c for c in frame.columns if c.startswith("built_")])


@pytest.fixture(scope="module")
def firm_builds(built_copy):
    from include.cli.warehouse import _dbt
    from include.config import paths

    with built_copy.connect(autocommit=True) as conn:
        # a firm that borrows and is a customer from the first month: its external records count
        uscc, name = conn.execute(
            "select f.firm_uscc, c.firm_name from marts_features.firm_month_features f "
            "join staging.stg_submissions__corporate_customers c on c.uscc = f.firm_uscc "
            "where f.lender_count > 0 order by f.period, f.firm_uscc limit 1").fetchone()
        with conn.transaction():
            _insert_external(conn, uscc, name)
        _dbt(["run", "--quiet", "--select", *MODELS[:5], "--vars", json.dumps({"features_as_of": str(CUT)})],
             target=paths().dbt_target.with_name("dbt_target_as_of"))  # keeps the shared partial parse valid
        cut_build = (_frame(conn, "firm_month_features"), _frame(conn, "firm_month_labels"))
        _dbt(["run", "--quiet", "--select", *MODELS[3:]])
        full = (_frame(conn, "firm_month_features"), _frame(conn, "firm_month_labels"),
                _frame(conn, "firm_month_training"))
    return {"uscc": uscc, "full": full, "cut_build": cut_build}


def _upto(frame: pd.DataFrame, cut) -> pd.DataFrame:
    return frame[frame["period"] <= cut].reset_index(drop=True)


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    """Every feature as a float (numeric/int/None from the driver: a column that is null in every row
    of one build comes back as None, in the other as NaN)."""
    return frame.apply(lambda c: c if c.name in ("firm_uscc", "period", "industry_code") else
                       pd.to_numeric(c).astype(float))


def test_firm_features_up_to_the_cut_do_not_change_when_later_data_is_removed(firm_builds):
    full, trunc = firm_builds["full"][0], firm_builds["cut_build"][0]
    assert len(full) > len(_upto(full, CUT)) > 0  # there was later data to remove
    assert trunc["period"].max() == CUT
    pd.testing.assert_frame_equal(_numeric(_upto(full, CUT)), _numeric(trunc), check_exact=True)


def test_every_kind_of_source_reaches_the_firm_features(firm_builds):
    """So that the comparison above covers them: submissions (loans, guarantees, flows, flow alerts) and
    the external records dated before the cut-off and after it, each counted in its own months only."""
    full = firm_builds["full"][0]
    for col in ("lender_count", "max_overdue_days", "overdue_months_6m", "guarantees_given", "guarantees_received",
                "flow_payers", "flow_alert_accounts", "red_flag_count", "prior_case_count"):
        assert (full[col].astype(float) > 0).any(), col
    assert full["firm_age_years"].notna().mean() > 0.9 and full["lender_count_chg_6m"].notna().any()
    mine = full[full["firm_uscc"] == firm_builds["uscc"]].set_index("period")
    for col in ("court_cases_12m", "registry_changes_6m", "illegal_promo_adverts_6m", "negative_news_6m"):
        counts = mine[col].astype(int)
        assert counts[date(2025, 4, 30)] == 0 and counts[date(2025, 5, 31)] == 1, col  # May record, from May on
        assert counts[date(2025, 8, 31)] == 2, col  # plus August's, after the cut
    assert mine.loc[date(2025, 8, 31), "court_cases_3m"] == 1  # only August's is within three months


def test_firm_labels_look_ahead_so_the_comparison_can_fail(firm_builds):
    full, trunc = _upto(firm_builds["full"][1], CUT), firm_builds["cut_build"][1]
    assert (full["label_case_6m"].astype(float).fillna(-1) != trunc["label_case_6m"].astype(float).fillna(-1)).any()
    assert trunc.loc[trunc["period"] == CUT, "label_case_6m"].isna().all()  # nothing known after the cut


def test_firm_labels_come_from_the_regulators_case_records(firm_builds):
    """Recomputed from what the regulator (REG0000) submitted: an illegal-fundraising or enforcement case
    against the firm in months t + 1 .. t + 6."""
    from simulator import build_world

    cases = build_world("tiny", seed=11).frames["regulator_case"]
    cases = cases[(cases["entity_type"] == "企业") & cases["case_type"].isin(["非法集资", "被执行"])]
    month = pd.to_datetime(cases["report_period"])
    labels = firm_builds["full"][1]
    known = labels[labels["months_observed"] > 0]
    assert len(known) and labels.loc[labels["months_observed"] == 0, "label_case_6m"].isna().all()
    expected = []
    for r in known.itertuples():
        t = pd.Timestamp(r.period)
        hit = (cases["uscc"] == r.firm_uscc) & (month > t) & (month <= t + pd.offsets.MonthEnd(6))
        expected.append(int(hit.any()))
    assert known["label_case_6m"].astype(int).tolist() == expected
    assert sum(expected) > 0


def test_the_training_panel_leaves_out_firms_the_regulator_already_has_a_case_on(firm_builds):
    features, _, training = firm_builds["full"]
    known = features[features["prior_case_count"] > 0]
    assert len(known) > 0
    assert not training.set_index(["firm_uscc", "period"]).index.isin(
        known.set_index(["firm_uscc", "period"]).index).any()
    assert len(training) == len(features) - len(known)


def test_the_training_panel_keeps_only_complete_six_month_labels(firm_builds):
    """A right-censored label (1 to 5 of the 6 months observed so far) says "no case yet": the labels mart keeps
    it for supervisors, the panel the models fit, calibrate and are judged on does not (bench/README, 7 Dec
    censor8)."""
    _, labels, training = firm_builds["full"]
    m = training[["firm_uscc", "period", "label_case_6m", "months_observed"]].merge(
        labels[["firm_uscc", "period", "label_case_6m"]], on=["firm_uscc", "period"], how="left",
        suffixes=("", "_labels"), validate="one_to_one")
    censored = m[m["months_observed"].between(1, 5)]
    assert censored["label_case_6m_labels"].notna().any()  # the labels mart has censored labels
    assert m.loc[m["months_observed"] < 6, "label_case_6m"].isna().all()
    complete = m[m["months_observed"] == 6]
    assert len(complete) and complete["label_case_6m"].notna().all()
    assert (complete["label_case_6m"].astype(int) == complete["label_case_6m_labels"].astype(int)).all()


def test_the_firm_preset_trains_and_scores_on_the_built_warehouse(firm_builds, built_copy):
    from ml import dag_tasks, scoring, workflow
    from ml.presets import FIRM
    from ml.train import TrainConfig

    url = built_copy.role_url("scorer")
    panel = dag_tasks.panel("firm", url)
    name = "firm_risk_test"  # not the preset's own name: no champion appears for the other tests
    out = workflow.train_one(panel, name, "logreg", TrainConfig(min_train_periods=6, allow_leaky=True))
    assert out["version"] and out["holdout"]["positives"] > 0 and out["baseline"] is not None
    try:
        scored = scoring.score(panel, name, FIRM.entity_type, url, texts=FIRM.texts, ref=out["version"])
        latest = panel.frame[panel.frame["period"] == max(panel.periods(labelled_only=False))]
        with built_copy.connect() as conn:
            rows = conn.execute("select entity_id, reasons from ml.risk_scores where model_name = %s "
                                "and entity_type = 'firm'", (name,)).fetchall()
        assert scored["entities"] == len(latest) == len(rows) > 100
        assert {r[0] for r in rows} == set(latest["firm_uscc"])
        said = [g for r in rows for g in r[1]]  # in words from the feature docs, against the peers
        assert said and all(g["text_zh"].startswith(FIRM.texts[g["feature"]][0] + "为") and
                            g["text_en"].startswith(FIRM.texts[g["feature"]][1] + " ") and
                            "peer median" in g["text_en"] for g in said)
    finally:
        with built_copy.connect() as conn:
            conn.execute("delete from ml.risk_scores where model_name = %s", (name,))
            conn.execute("delete from ml.feature_drift where model_name = %s", (name,))
