"""build_warehouse's watcher tasks read the dbt build's results from one XCom (include/cosmos_watcher.py).

On the DAGs as parsed (``airflow_dagbag``): every Cosmos watcher task is the ``node_results`` subclass of its
Cosmos class. Their ``poke`` is driven with a task instance that serves XComs from a dict (what the
execution API would return) and counts the requests: one XCom for a whole DAG run, the same outcomes as
Cosmos' own ``poke`` (success, a failed model or test fails the task, a skipped node skips), and Cosmos'
own ``poke`` for a retry or a missing summary. The whole path through Airflow and dbt runs in
tests/test_pipeline_e2e.py (every node's task succeeds and has its log).
"""

from __future__ import annotations

import pytest

MODEL = "model.supervision.dq_scorecard"
KEY = "model__supervision__dq_scorecard"


class RunTI:
    """The parts of Airflow's runtime task instance ``poke`` uses; XComs served from ``xcoms``."""

    def __init__(self, xcoms: dict, run_id: str, try_number: int = 1) -> None:
        self.xcoms, self.try_number, self.dag_id, self.map_index, self.run_id = xcoms, try_number, \
            "build_warehouse", -1, run_id
        self.pulls: list[str] = []

    def xcom_pull(self, task_ids=None, key=None, **_):
        self.pulls.append(key)
        return self.xcoms.get(key)


def _tasks(airflow_dagbag, dag_id="build_warehouse"):
    return {t.task_id: t for t in airflow_dagbag.get_dag(dag_id).tasks}


def _summary(status="success", tests="pass"):
    return {f"{KEY}_status": {"status": status, "outlet_uris": []},
            f"{KEY}_tests_status": tests,
            f"{KEY}_dbt_event": {"status": status, "start_time": "2026-12-07T08:00:01Z",
                                 "finish_time": "2026-12-07T08:00:03Z", "msg": "boom" if status != "success" else ""}}


def _poke(task, ti):
    return task.poke({"ti": ti, "run_id": ti.run_id})


def test_every_watcher_task_reads_the_summary(airflow_dagbag):
    from cosmos.operators.watcher import DbtConsumerWatcherSensor, DbtProducerWatcherOperator

    from include.cosmos_watcher import SummaryConsumer, SummaryProducer

    for dag_id in ("build_warehouse", "score_risk"):
        tasks = _tasks(airflow_dagbag, dag_id).values()
        consumers = [t for t in tasks if isinstance(t, DbtConsumerWatcherSensor)]
        assert consumers and all(isinstance(t, SummaryConsumer) for t in consumers), dag_id
        producers = [t for t in tasks if isinstance(t, DbtProducerWatcherOperator)]
        assert len(producers) == 1 and isinstance(producers[0], SummaryProducer), dag_id
    assert len([t for t in _tasks(airflow_dagbag).values() if isinstance(t, SummaryConsumer)]) > 100


def test_the_summary_holds_what_consumers_read_and_no_single_test(airflow_dagbag):
    from include.cosmos_watcher import summary_of

    pushed = {**_summary(), f"{KEY}_compiled_sql": "select 1", "task_status": "completed",
              "test__supervision__not_null_x_status": {"status": "pass"},
              "test__supervision__not_null_x_dbt_event": {"status": "pass"}, "dbt_startup_events": []}
    assert summary_of(pushed) == {**_summary(), f"{KEY}_compiled_sql": "select 1"}


def test_one_xcom_per_run_and_cosmos_outcomes(airflow_dagbag, caplog):
    from airflow.exceptions import AirflowException
    from cosmos.airflow.compatibility import AirflowSkipException

    tasks = _tasks(airflow_dagbag)
    run, tests = tasks["dbt.dq_scorecard.run"], tasks["dbt.dq_scorecard.test"]
    ti = RunTI({"node_results": {**_summary(), f"{KEY}_compiled_sql": "select 42"}}, run_id="r-ok")
    with caplog.at_level("INFO"):
        assert _poke(run, ti) is True
        assert _poke(tests, ti) is True
    assert ti.pulls == ["node_results"]  # the second task of the run reads it from memory
    assert run.compiled_sql == "select 42"  # the rendered template, as Cosmos' poke keeps it
    assert "[SUCCESS] Start: 08:00:01, Finish: 08:00:03" in caplog.text  # the node's own timing, in its log

    failed = RunTI({"node_results": _summary(status="error", tests="fail")}, run_id="r-failed")
    with pytest.raises(AirflowException, match="finished with status 'error'"):
        _poke(run, failed)
    with pytest.raises(AirflowException, match="Tests for model .* finished with status 'fail'"):
        _poke(tests, failed)
    skipped = RunTI({"node_results": _summary(status="skipped")}, run_id="r-skipped")
    with pytest.raises(AirflowSkipException):
        _poke(run, skipped)


def test_retries_and_a_missing_summary_go_to_cosmos_own_poke(airflow_dagbag, monkeypatch):
    from cosmos.operators._watcher.base import BaseConsumerSensor

    run = _tasks(airflow_dagbag)["dbt.dq_scorecard.run"]
    cosmos_pokes = []
    monkeypatch.setattr(BaseConsumerSensor, "poke", lambda self, context: cosmos_pokes.append(context) or True)
    retry = RunTI({"node_results": _summary(status="error")}, run_id="r-retry", try_number=2)
    assert _poke(run, retry) is True and retry.pulls == []  # a retry: Cosmos reruns the model alone
    none = RunTI({}, run_id="r-none")
    assert _poke(run, none) is True and none.pulls == ["node_results"]  # the producer died before its end
    absent = RunTI({"node_results": {}}, run_id="r-absent")
    assert _poke(run, absent) is True  # the build failed before this node: Cosmos checks the producer
    assert len(cosmos_pokes) == 3


def test_in_the_in_process_runner_the_producer_pushes_its_nodes_once_as_the_summary():
    """`supervision run|demo` (consumers run after the producer, in its process): Cosmos' per-node XComs stay
    in its backup buffer and reach the consumers in `node_results`; any other key is pushed; and with no
    buffer (Cosmos keeps none) nothing is left out. (The runner's DAGs succeeding on it: test_pipeline_e2e.)"""
    from cosmos.operators._watcher.state import safe_xcom_push

    from include import cosmos_watcher as cw

    class PushTI:
        def __init__(self):
            self.pushed = {}

        def xcom_push(self, key, value):
            self.pushed[key] = value

    ti = PushTI()
    ti._cosmos_xcom_backup_buffer = {}
    vars(ti)["xcom_push"] = cw.summary_only_push(ti)
    node = {"model__supervision__m_status": {"status": "success", "outlet_uris": []},
            "model__supervision__m_tests_status": "pass", "model__supervision__m_dbt_event": {"status": "success"},
            "model__supervision__m_compiled_sql": "select 1", "test__supervision__t_status": "pass"}
    for k, v in {**node, "task_status": "completed", "dbt_startup_events": [1]}.items():
        safe_xcom_push(task_instance=ti, key=k, value=v)
    assert ti.pushed == {"task_status": "completed", "dbt_startup_events": [1]}
    assert ti._cosmos_xcom_backup_buffer == {**node, "task_status": "completed", "dbt_startup_events": [1]}
    summary = cw.summary_of(ti._cosmos_xcom_backup_buffer)
    assert summary == {k: v for k, v in node.items() if not k.startswith("test__")}

    bare = PushTI()  # no backup buffer: every push goes through
    vars(bare)["xcom_push"] = cw.summary_only_push(bare)
    safe_xcom_push(task_instance=bare, key="model__supervision__m_status", value="success")
    assert bare.pushed == {"model__supervision__m_status": "success"}
