"""The walking skeleton end to end: simulate → ingest_submissions → build_warehouse, in-process
through Airflow (dag.test()), against the real warehouse (a database of the module's own); then the ingest
DAGs again, to prove idempotence."""

from __future__ import annotations

import json

import pytest

from include.config import paths
from include.registry.datasets import DATASETS
from tests.conftest import Warehouse, throwaway_database

pytestmark = pytest.mark.slow


def _counts(warehouse) -> dict:
    """Counts of this test's own data (other tests share the session's warehouse)."""
    mine = "join ops.batch b on b.batch_id = r._batch_id join ops.submission s using (submission_id) " \
           "where s.landing_path like %s"
    prefix = str(paths().landing) + "/%"
    with warehouse.connect() as conn:
        raw = {ds: conn.execute(f'select count(*) from raw."{ds}" r {mine}', (prefix,)).fetchone()[0]
               for ds in DATASETS}
        batches = dict(conn.execute("select b.status, count(*) from ops.batch b join ops.submission s "
                                    "using (submission_id) where s.landing_path like %s group by 1",
                                    (prefix,)).fetchall())
        mart = conn.execute("select count(*), count(*) filter (where car_below_minimum) "
                            "from marts_prudential.capital_adequacy m where exists (select 1 from ops.batch b "
                            "join ops.submission s using (submission_id) where b.batch_id = m.source_batch_id "
                            "and s.landing_path like %s)", (prefix,)).fetchone()
    return {"raw": raw, "batches": batches, "mart": mart}


@pytest.fixture(scope="module")
def e2e_warehouse(warehouse, airflow_dagbag):
    """A database of this module's own (bootstrapped, empty), the process's warehouse while the module runs.
    The session's database may already hold this world (``built_warehouse`` loads the same tiny/11 landing
    zone): there the ingest DAG would find nothing to do and the raw counts would be the fixture's."""
    from include.airflow_env import airflow_env
    from include.warehouse.bootstrap import bootstrap

    mp = pytest.MonkeyPatch()
    try:
        with throwaway_database(warehouse.admin_url, mp, prefix="e2e") as url:
            bootstrap(warehouse.state)
            for k, v in airflow_env().items():  # run_dags() applies these (the connections' database): undone
                mp.setenv(k, v)
            yield Warehouse(state=warehouse.state, admin_url=url)
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def first_run(e2e_warehouse):
    import simulator as simulate
    from include.cli.pipeline import run_dags

    p = paths()
    sim = simulate.generate(p.landing, p.ground_truth, preset="tiny", seed=11)
    states = run_dags()
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == "ingest_submissions").order_by(DagRun.id.desc()).first()
        ingest_run = run.run_id
    with e2e_warehouse.connect() as conn:  # which runs loaded this landing zone's batches
        loaded_by = {r[0] for r in conn.execute(
            "select distinct b.dag_run_id from ops.batch b join ops.submission s using (submission_id) "
            "where s.landing_path like %s", (str(p.landing) + "/%",))}
    return sim, states, _counts(e2e_warehouse), (ingest_run, loaded_by)


def test_both_dags_succeed(first_run):
    _, states, _, _ = first_run
    assert all("success" in s for s in states.values()), states


def test_every_simulated_row_reaches_raw(first_run):
    sim, _, counts, (ingest_run, loaded_by) = first_run
    assert counts["raw"] == sim["rows"]
    assert counts["batches"] == {"accepted": sim["files"]}
    assert loaded_by == {ingest_run}  # loaded by this test's run of the ingest DAG, not before it


def test_mart_flags_exactly_the_planted_capital_breaches(first_run):
    sim, _, counts, _ = first_run
    truth = json.loads((paths().ground_truth / "ground_truth.json").read_text())
    assert counts["mart"][0] == sim["rows"]["capital_report"]
    assert counts["mart"][1] == sim["capital_breaches"] == len(truth["capital_breaches"])


def test_second_run_loads_nothing_twice(first_run, e2e_warehouse):
    """The ingest DAGs again over the same landing zone and feeds: nothing new in raw, no batch twice
    (a rebuild of unchanged inputs is dbt's and is exercised by test_warehouse_build; running the build
    and scoring DAGs again here would double this test's time for no new assertion)."""
    from include.cli.pipeline import run_dags

    _, _, before, _ = first_run
    states = run_dags(("ingest_submissions", "ingest_external"))
    assert all("success" in s for s in states.values()), states
    assert _counts(e2e_warehouse) == before


def test_bi_reader_can_read_the_mart_and_nothing_upstream(first_run, e2e_warehouse):
    import psycopg

    with e2e_warehouse.connect("bi_reader") as conn:
        # bi_reader may read the mart, but row-level security shows a login without a bureau nothing
        # (bureau logins see their own rows: tests/test_rls.py)
        assert conn.execute("select count(*) from marts_prudential.capital_adequacy").fetchone()[0] == 0
    with e2e_warehouse.connect() as conn:
        assert conn.execute("select count(*) from marts_prudential.capital_adequacy").fetchone()[0] > 0
    with e2e_warehouse.connect("bi_reader") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from staging.stg_submissions__capital_reports")


def test_every_task_that_ran_has_its_log_where_the_ui_reads_it(first_run):
    """The demo's task logs are inspectable in the Airflow UI: every task instance of the run's DAGs that
    ran (success or failed) has its log file under Airflow's base log folder, at the path of the default
    log_filename_template, holding Airflow's JSON log lines."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    from include.cli.console import task_log_path
    from include.cli.pipeline import DAG_ORDER

    logs = paths().airflow_home / "logs"
    with create_session() as session:
        for dag_id in DAG_ORDER:
            run = session.query(DagRun).filter(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).first()
            assert run is not None, dag_id
            tis = session.query(TaskInstance).filter(TaskInstance.dag_id == dag_id,
                                                     TaskInstance.run_id == run.run_id).all()
            ran = [ti for ti in tis if ti.state in ("success", "failed")]
            assert ran, f"{dag_id}: no task ran"
            missing = [ti.task_id for ti in ran if not task_log_path(
                logs, dag_id, run.run_id, ti.task_id, ti.map_index, ti.try_number).is_file()]
            assert not missing, f"{dag_id}: no log file for {missing[:5]}"
            sample = task_log_path(logs, dag_id, run.run_id, ran[0].task_id, ran[0].map_index, ran[0].try_number)
            first = json.loads(sample.read_text().splitlines()[0])
            assert {"timestamp", "level", "event"} <= set(first), first


def test_the_closing_story_counts_what_the_run_did(first_run, e2e_warehouse):
    """`supervision demo`'s summary (include/cli/story.py): the gate's counts are the batches' statuses,
    every scored institution is counted once by level, the red ones come with reasons in words, the
    flow queue counts the flow-alert mart."""
    from include.cli.story import render, story

    s = story()
    with e2e_warehouse.connect() as conn:
        statuses = dict(conn.execute("select status, count(*) from ops.batch where status <> 'superseded' "
                                     "group by 1").fetchall())
        scored = conn.execute("select count(distinct entity_id) from ml.risk_scores "
                              "where entity_type = 'institution'").fetchone()[0]
        flows = conn.execute("select count(*) from marts_flows.flow_alerts").fetchone()[0]
        firms = conn.execute("select count(distinct entity_id) from ml.risk_scores where entity_type = 'firm'"
                             ).fetchone()[0]
        firm_status = conn.execute("select reason_en from ml.model_status where entity_type = 'firm'").fetchone()
    assert s["gate"]["by_status"] == statuses
    assert s["gate"]["files_received"] == sum(statuses.values())
    # (scored may be 0 here: with this world's few quarters score_risk may have no champion to score with)
    assert sum(s["warnings"]["institutions_by_level"].values()) == scored
    by_level = s["warnings"]["institutions_by_level"]
    top = s["warnings"]["top_at_risk"]  # the three riskiest red ones, orange ones when none is red
    assert len(top) == min(3, by_level["red"] or by_level["orange"])
    assert {r["level"] for r in top} <= {"red" if by_level["red"] else "orange"}
    assert all(r["reasons"] and r["name"] for r in top)
    assert s["flows"]["flow_alerts"] == flows
    assert sum(s["firms"]["firms_by_level"].values()) == firms
    assert s["firms"]["status"] == (firm_status[0] if firm_status else None)
    text = render(s)
    if firms or firm_status:
        assert any(line.startswith("Firms by early-warning level: ") for line in text)
    assert any(line.startswith("Submissions: ") for line in text)
    assert all(len(line) <= 300 for line in text)
