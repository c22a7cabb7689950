"""Incremental builds give exactly the rows of a full build, and nothing is rebuilt when nothing changed.

The start is the session's built tiny/11 world (``built_copy``: a private copy of the database right after
built_warehouse's full build); one more month is simulated (`advance`, in a copy of that world's landing
zone and ground truth), ingested, and built incrementally (`dbt run`). Every incremental model's rows (the
flow models with the flow alert queue, the loan book, the feature marts firm_month_features,
account_month_training and firm_month_training) are kept aside and the incremental models are rebuilt with
`--full-refresh`: both must hold the same multiset of rows (EXCEPT ALL both ways, build watermark columns
aside); the same after a supervisor confirms a flow alert of the first month (the account panel's labels,
not a batch), and after a regulator resubmission that labels an earlier firm month (the firm panel); a new
scoring run must reach an old month's flow alert. Before the new month, a build with nothing new must leave
every incremental model's rows untouched, and the inputs' fingerprint (the build DAG's skip test) must say
"unchanged"; after the new month it must say "changed".
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest


def _incremental_models(manifest: Path) -> dict[str, str]:
    """name -> schema.name of every incremental model."""
    nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"].values()
    return {n["name"]: f'{n["schema"]}.{n["alias"]}' for n in nodes
            if n["resource_type"] == "model" and n["config"]["materialized"] == "incremental"}


def _row_versions(conn, relation: str) -> tuple[int, str]:
    """Row count and a digest of the rows' physical positions: a delete+insert of any row changes it."""
    return conn.execute(f"select count(*), md5(coalesce(string_agg(ctid::text, ',' order by ctid), '')) "
                        f"from {relation}").fetchone()


def _data_columns(conn, relation: str) -> str:
    """The relation's columns but the build watermarks (built_*: which build wrote the row, not data)."""
    schema, name = relation.split(".")
    cols = [r[0] for r in conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
        "and column_name not like 'built\\_%%' order by ordinal_position", (schema, name))]
    return ", ".join(f'"{c}"' for c in cols)


def _difference(conn, a: str, b: str, columns: str) -> int:
    return conn.execute(f"select count(*) from (select {columns} from {a} except all select {columns} from {b}) d"
                        ).fetchone()[0]


def _incremental_equals_full(connect, models: dict[str, str], model: str) -> dict:
    """Build `model` incrementally, keep its rows, rebuild it with --full-refresh: the rows each build has
    that the other has not (EXCEPT ALL both ways)."""
    from include.cli.warehouse import _dbt

    relation = models[model]
    proc = _dbt(["run", "--select", model], check=False)
    assert proc.returncode == 0, proc.stdout[-6000:]
    with connect() as conn:
        conn.execute(f"create table incremental_copy.{model}_again as select * from {relation}")
    proc = _dbt(["run", "--full-refresh", "--select", model], check=False)
    assert proc.returncode == 0, proc.stdout[-6000:]
    copy = f"incremental_copy.{model}_again"
    with connect() as conn:
        cols = _data_columns(conn, relation)
        return {"only_incremental": _difference(conn, copy, relation, cols),
                "only_full": _difference(conn, relation, copy, cols)}


@pytest.fixture(scope="module")
def advanced(built_copy):
    from include.cli.warehouse import _dbt
    from include.config import StatePaths
    from include.ingest.contract import find_manifests
    from include.ingest.loader import ingest_manifests
    from include.warehouse.connection import libpq_url, role_url
    from include.warehouse.fingerprint import inputs_changed, record_build
    from simulator.advance import advance

    state = built_copy.state
    # the month is advanced in a copy of the world's landing zone and ground truth: the shared ones stay
    # as built_warehouse ingested them (test_pipeline_e2e counts what came in through the landing zone)
    root = Path(tempfile.mkdtemp(prefix="sv-incr-"))
    landing, truth = root / "landing", root / "gt"
    shutil.copytree(state.landing, landing)
    shutil.copytree(state.ground_truth, truth)
    out: dict = {}
    try:
        # the project's incremental models (the manifest of built_warehouse's build: same project)
        manifest = state.dbt_target / "manifest.json"
        models = _incremental_models(manifest)
        # the DAG's skip test, with a state directory of its own (its stored fingerprint)
        fp_state = StatePaths(root / "fp")
        fp_state.dbt_target.mkdir(parents=True)
        shutil.copy(manifest, fp_state.dbt_target / "manifest.json")
        loader = role_url("loader", state)

        def connect(role: str | None = None):
            url = os.environ["SUPERVISION_DATABASE_URL"] if role is None else role_url(role, state)
            return psycopg.connect(libpq_url(url), autocommit=True)

        with connect("transformer") as conn:
            first = inputs_changed(conn, fp_state)
            record_build(first, fp_state)
        with connect() as conn:
            before = {m: _row_versions(conn, r) for m, r in models.items()}
        proc = _dbt(["run", "--select", "config.materialized:incremental"], check=False)
        assert proc.returncode == 0, proc.stdout[-6000:]
        with connect() as conn:
            out["untouched"] = (before, {m: _row_versions(conn, r) for m, r in models.items()})
        with connect("transformer") as conn:
            out["fingerprint_unchanged"] = (first, inputs_changed(conn, fp_state))

        delivered = set(find_manifests(landing))
        out["advance"] = advance(landing, truth, preset="tiny", seed=11, external=False)
        # the new month's submissions (the copied ones are in the database under the shared path)
        ingest_manifests(loader, sorted(set(find_manifests(landing)) - delivered), state)
        with connect("transformer") as conn:
            out["fingerprint_after_advance"] = inputs_changed(conn, fp_state)
        proc = _dbt(["run"], check=False)
        assert proc.returncode == 0, proc.stdout[-6000:]
        with connect() as conn:
            conn.execute("create schema incremental_copy")
            for m, r in models.items():
                conn.execute(f"create table incremental_copy.{m} as select * from {r}")
        proc = _dbt(["run", "--full-refresh", "--select", "config.materialized:incremental"], check=False)
        assert proc.returncode == 0, proc.stdout[-6000:]
        diffs = {}
        with connect() as conn:
            for m, r in models.items():
                n = conn.execute(f"select count(*) from {r}").fetchone()[0]
                cols = _data_columns(conn, r)
                only_incr = _difference(conn, f"incremental_copy.{m}", r, cols)
                only_full = _difference(conn, r, f"incremental_copy.{m}", cols)
                diffs[m] = {"rows": n, "only_incremental": only_incr, "only_full": only_full}
            out["periods"] = conn.execute(
                "select count(distinct period), max(period) from intermediate.int_flows__account_scores"
            ).fetchone()
            # a supervisor confirms the earliest flow alert on an account never labelled 1: its label changes
            alert_id, period = conn.execute(
                "select f.alert_id, f.period from marts_flows.flow_alerts as f where not exists ("
                f" select 1 from {models['account_month_training']} as a where a.label_case_6m = 1"
                "  and a.institution_code = f.institution_code and a.account_no = f.account_no)"
                " order by f.period, f.alert_id limit 1").fetchone()
        with connect("transformer") as conn:
            record_build(inputs_changed(conn, fp_state) or first, fp_state)  # as if the month had been built
        with connect() as conn:
            conn.execute("select ops.record_disposition('flow_alert', %s, 'confirmed')", (alert_id,))
            before = conn.execute(f"select count(*), max(period) from {models['account_month_training']} "
                                  "where label_case_6m = 1").fetchone()
        with connect("transformer") as conn:  # a decision is a table under a source view (not partitioned)
            out["fingerprint_after_decision"] = inputs_changed(conn, fp_state)
        out["disposition_diff"] = _incremental_equals_full(connect, models, "account_month_training")
        with connect() as conn:
            out["disposition"] = (period, before, conn.execute(
                f"select count(*), max(period) from {models['account_month_training']} where label_case_6m = 1"
            ).fetchone())
            # the one-column indexes the flow chain's post-hooks make (macro ensure_index), after several
            # builds and two full refreshes: one each, also on the tables a full refresh re-created
            out["indexes"] = {m: sorted(conn.execute(
                "select a.attname, i.indpred is not null, count(*) from pg_index as i inner join pg_attribute as a"
                " on i.indrelid = a.attrelid and a.attnum = i.indkey[0]"
                " where i.indrelid = %s::regclass and i.indnkeyatts = 1 group by 1, 2", (models[m],)).fetchall())
                for m in ("int_flows__counterparty_months", "int_flows__account_inflow_timing",
                          "int_flows__account_windows", "int_flows__account_scores", "account_month_training",
                          "firm_month_training")}
        # a label revision: the regulator resubmits a month of its cases with one more illegal-fundraising case,
        # against a firm whose month one to six months before it is labelled 0 (a new accepted batch superseding
        # the old one, as the loader leaves them): firm_month_training must relabel that earlier month
        with connect() as conn:
            uscc, labelled, old_batch, submission_id = conn.execute(
                f"select t.firm_uscc, t.period, b.batch_id, b.submission_id from {models['firm_month_training']} t"
                " inner join ops.submission as s on s.period > t.period"
                "  and s.period < date_trunc('month', t.period) + interval '7 months'"
                " inner join ops.batch as b on b.submission_id = s.submission_id and b.dataset = 'regulator_case'"
                "  and b.status = 'accepted'"
                " where t.label_case_6m = 0 order by t.period desc, t.firm_uscc limit 1").fetchone()
            conn.execute("insert into ops.submission (submission_id, institution_code, period, version, submitted_at,"
                         " manifest, manifest_sha256, landing_path) select submission_id || '-test-revision',"
                         " institution_code, period, version + 100, submitted_at, manifest, manifest_sha256,"
                         " landing_path from ops.submission where submission_id = %s", (submission_id,))
            new_batch = conn.execute(
                "insert into ops.batch (submission_id, dataset, file_name, file_sha256, status) values"
                " (%s || '-test-revision', 'regulator_case', 'test-revision.csv', md5('test-revision'), 'accepted')"
                " returning batch_id", (submission_id,)).fetchone()[0]
            conn.execute("update ops.batch set status = 'superseded' where batch_id = %s", (old_batch,))
            conn.execute("create temp table revised as select * from raw.regulator_case where _batch_id = %s",
                         (old_batch,))
            conn.execute("insert into revised select * from revised limit 1")
            conn.execute("update revised set _batch_id = %s", (new_batch,))
            conn.execute("update revised set case_id = 'TEST-REVISION', entity_type = '企业', uscc = %s,"
                         " case_type = '非法集资', _line = (select max(_line) + 1 from revised)"
                         " where ctid = (select max(ctid) from revised)", (uscc,))
            conn.execute("insert into raw.regulator_case select * from revised")
        proc = _dbt(["run", "--select", "stg_submissions__regulator_cases", "firm_month_features",
                     "firm_month_labels"], check=False)
        assert proc.returncode == 0, proc.stdout[-6000:]
        out["revision_diff"] = _incremental_equals_full(connect, models, "firm_month_training")
        with connect() as conn:
            out["revised_label"] = conn.execute(
                f"select label_case_6m from {models['firm_month_training']} where firm_uscc = %s and period = %s",
                (uscc, labelled)).fetchone()[0]
            # a new scoring run scores the account of the earliest flow alert again: flow_alerts (a table over the
            # incremental int_flows__alert_queue) shows the new score on that old month's alert
            alert_id, key = conn.execute(
                "select alert_id, institution_code || ':' || account_no from marts_flows.flow_alerts"
                " order by period, alert_id limit 1").fetchone()
            conn.execute(
                "insert into ml.risk_scores (entity_type, entity_id, period, model_name, model_version, probability,"
                " warning_level) values ('account', %s, '2999-12-31', 'account_flow', 'test-rescore', 0.123457,"
                " 'blue')", (key,))
        proc = _dbt(["run", "--select", "stg_ml__latest_risk_scores", "int_flows__alert_queue", "flow_alerts"],
                    check=False)
        assert proc.returncode == 0, proc.stdout[-6000:]
        with connect() as conn:
            out["rescored"] = conn.execute(
                "select account_risk_probability, account_risk_warning_level from marts_flows.flow_alerts"
                " where alert_id = %s", (alert_id,)).fetchone()
        out["models"], out["diffs"] = models, diffs
        yield out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_the_flow_and_loan_book_models_and_the_feature_marts_are_incremental(advanced):
    assert {"int_flows__counterparty_months", "int_flows__account_windows", "int_flows__account_scores",
            "int_flows__alert_queue", "int_prudential__loan_book_quarterly", "firm_month_features",
            "account_month_training", "firm_month_training"} <= set(advanced["models"])


def test_a_regulator_resubmission_relabels_an_earlier_firm_month_as_a_full_refresh_does(advanced):
    assert advanced["revised_label"] == 1
    assert advanced["revision_diff"] == {"only_incremental": 0, "only_full": 0}


def test_a_new_scoring_run_reaches_an_old_months_flow_alert(advanced):
    """flow_alerts' ML score columns change with every scoring run, not with a month: they are joined on top of the
    incremental queue, so an old alert shows its account's latest score."""
    assert advanced["rescored"] == (pytest.approx(0.123457), "blue")


def test_the_incremental_look_ups_have_their_index_once_after_full_refreshes(advanced):
    """Each incremental build of the flow chain looks up `max` of its batch column and deletes the months it rewrites:
    an index each on the batch column (bench/README.md, hist13) and on `period` (hist15), and on the two panels a
    partial one on `period` for the months whose label window is still open; made by a post-hook also on a table a
    full refresh re-created, and not made again by the next build."""
    batch = [("period", False, 1), ("source_batch_id", False, 1)]
    unobserved = ("period", True, 1)
    assert advanced["indexes"] == {
        "int_flows__counterparty_months": batch, "int_flows__account_inflow_timing": batch,
        "int_flows__account_windows": batch, "int_flows__account_scores": batch,
        "account_month_training": [("built_batch_id", False, 1), ("period", False, 1), unobserved],
        "firm_month_training": [("period", False, 1), unobserved]}


def test_a_build_with_nothing_new_rewrites_no_row(advanced):
    before, after = advanced["untouched"]
    assert all(n > 0 for n, _ in before.values()), before
    assert after == before


def test_a_supervisors_decision_read_through_a_source_view_changes_the_fingerprint(advanced):
    """The build DAG's skip test sees tables that are not partitioned, and the tables under a source view
    (the decisions under ops.alert_disposition_current): until 7 Dec it watched only partitioned raw tables."""
    assert advanced["fingerprint_after_decision"] is not None


def test_the_fingerprint_sees_no_change_without_new_data_and_a_change_after_a_month(advanced):
    first, again = advanced["fingerprint_unchanged"]
    assert len(first) == 64 and again is None
    assert advanced["fingerprint_after_advance"] not in (None, first)


def test_an_incremental_month_equals_a_full_refresh(advanced):
    assert advanced["advance"]["rows"].get("transaction", 0) > 0
    n_months, last = advanced["periods"]
    assert str(last) == advanced["advance"]["period"] and n_months >= 13
    diffs = advanced["diffs"]
    assert all(d["rows"] > 0 for d in diffs.values()), diffs
    assert all(d["only_incremental"] == 0 and d["only_full"] == 0 for d in diffs.values()), diffs


def test_a_confirmed_flow_alert_relabels_incrementally_as_a_full_refresh_does(advanced):
    period, before, after = advanced["disposition"]
    assert after[0] > before[0]  # the confirmation labelled account-months 1 (t - 6 .. t of the alert)
    assert advanced["disposition_diff"] == {"only_incremental": 0, "only_full": 0}
