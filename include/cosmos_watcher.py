"""Cosmos watcher tasks that read the build's results with one XCom instead of five execution-API requests.

Cosmos' watcher consumers (one task per model, per model's tests, per seed and snapshot) ask the Airflow
execution API, on every poke, for the producer's state, dbt's start-up events, the node's status, its
compiled SQL and its dbt event: five requests per task, ~0.1 s of a watcher task's ~0.2-0.3 s in
``supervisor run``'s in-process runner, where the ~166 tasks of ``build_warehouse`` run one after the other.

Here the producer (:class:`SummaryProducer`) also pushes, once at the end of its ``dbt build`` (success or
failure), one XCom ``node_results``: every node's status, aggregated test status, dbt event (start, finish,
message) and model's compiled SQL that it pushed one by one, in one dict. A consumer
(:class:`SummaryConsumer`) on its first try reads that one XCom (once per DAG run and process: later
consumers of the run in the same process read it from memory; a worker that runs one task per process
reads it once per task) and decides exactly as Cosmos' ``poke`` does: logs the node's dbt event (its own
start and finish, so each model's task log has its timing), keeps the model's compiled SQL as its
rendered template, skips a skipped node, succeeds on success, fails on a failed node or test.

Whatever the summary cannot answer goes to Cosmos' own ``poke`` unchanged: a retry or a manual clear
(``try_number > 1``: Cosmos reruns the node alone), no summary (a producer that died before its end),
a node the summary does not list (the producer failed before reaching it: Cosmos looks at the producer's
state and runs the node alone). Nothing is faked: the per-node XComs are still pushed, each node still has
its own task, log, duration and failure.
"""

from __future__ import annotations

import os
from typing import Any

from airflow.exceptions import AirflowException
from cosmos.airflow.compatibility import AirflowSkipException
from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key
from cosmos.operators._watcher.state import (
    _log_dbt_event,
    get_compiled_sql_xcom_key,
    get_dbt_event_xcom_key,
    get_status_xcom_key,
    is_dbt_node_status_skipped,
    is_dbt_node_status_success,
    safe_xcom_push,
)
from cosmos.operators.watcher import (
    DbtConsumerWatcherSensor,
    DbtProducerWatcherOperator,
    DbtRunWatcherOperator,
    DbtSeedWatcherOperator,
    DbtSnapshotWatcherOperator,
    DbtTestWatcherOperator,
)

SUMMARY_KEY = "node_results"
_SUFFIXES = ("_status", "_tests_status", "_dbt_event", "_compiled_sql")
_CACHE: dict[tuple, dict] = {}  # (dag_id, run_id, producer task id, map index) -> summary; one run kept


def summary_of(pushed: dict[str, Any]) -> dict[str, Any]:
    """The per-node XComs the producer pushed that a consumer reads (status, aggregated test status, dbt
    event, a model's compiled SQL), in one dict. A single test's own keys (``test__...``: a consumer reads
    its model's aggregated test status) are left out."""
    return {k: v for k, v in pushed.items() if k.endswith(_SUFFIXES) and not k.startswith("test__")
            and k != "task_status"}


#: Set (to "1") by the in-process runner (``supervision run|demo``), where every consumer runs after the
#: producer has finished, in the same process: see :func:`summary_only_push`.
SUMMARY_ONLY_ENV = "SUPERVISION_WATCHER_SUMMARY_ONLY"


def summary_only_push(ti: Any):
    """An ``xcom_push`` for the producer's task instance that leaves out the per-node XComs (status, tests
    status, dbt event, compiled SQL of each of ~500 nodes, ~2,300 pushes) while Cosmos keeps them in its
    backup buffer, from which they are pushed once, as ``node_results``. Only for the in-process runner:
    there no consumer can look before the producer ends, and each push costs ~12 ms of Python under Cosmos'
    global XCom lock (measured: 26.6 s of a 49 s build, with 13.5 s more of dbt's threads waiting for the
    lock). Any other key, or any push while Cosmos keeps no buffer, is pushed as usual."""
    real = type(ti).xcom_push

    def push(key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        if (key.endswith(_SUFFIXES) and key != "task_status"
                and isinstance(getattr(ti, "_cosmos_xcom_backup_buffer", None), dict)):
            return None
        return real(ti, key, value, *args, **kwargs)

    return push


class SummaryProducer(DbtProducerWatcherOperator):
    """Cosmos' producer, plus one XCom ``node_results`` with every node's result, pushed when the build ends
    (in the in-process runner instead of the per-node XComs: :func:`summary_only_push`)."""

    def execute(self, context: Any, **kwargs: Any) -> Any:
        ti = context["ti"]
        first_try = getattr(ti, "try_number", 1) <= 1  # a retry restores the XComs and skips (Cosmos)
        if first_try and os.environ.get(SUMMARY_ONLY_ENV) == "1":
            vars(ti)["xcom_push"] = summary_only_push(ti)  # an instance attribute shadows the method
        try:
            return super().execute(context, **kwargs)
        finally:
            vars(ti).pop("xcom_push", None)
            pushed = getattr(ti, "_cosmos_xcom_backup_buffer", None)
            if first_try and isinstance(pushed, dict):
                safe_xcom_push(task_instance=ti, key=SUMMARY_KEY, value=summary_of(pushed))


class SummaryConsumer(DbtConsumerWatcherSensor):
    """A Cosmos watcher consumer whose first poke reads the producer's ``node_results`` (see module doc)."""

    def _summary(self, context: Any) -> dict | None:
        ti = context["ti"]
        key = (ti.dag_id, context["run_id"], self.producer_task_id, getattr(ti, "map_index", -1))
        if key not in _CACHE:
            value = ti.xcom_pull(task_ids=self.producer_task_id, key=SUMMARY_KEY)
            if not isinstance(value, dict):
                return None
            _CACHE.clear()  # one DAG run at a time in a process
            _CACHE[key] = value
        return _CACHE[key]

    def poke(self, context: Any) -> bool:
        ti = context["ti"]
        summary = self._summary(context) if ti.try_number <= 1 else None
        uid = self.model_unique_id
        status_key = get_tests_status_xcom_key(uid) if self.is_test_sensor else get_status_xcom_key(uid)
        if summary is None or summary.get(status_key) is None:
            return super().poke(context)  # Cosmos' own poke: retries, fallbacks, producer state
        status = summary[status_key]
        if isinstance(status, dict):  # a model's, seed's or snapshot's status: {"status", "outlet_uris"}
            self._outlet_uris = status.get("outlet_uris", [])
            status = status.get("status")
        self.log.info("%s '%s': status '%s' from the producer's %s", self._resource_label, uid, status,
                      SUMMARY_KEY)
        compiled_sql = summary.get(get_compiled_sql_xcom_key(uid))
        if compiled_sql:  # as Cosmos' poke: the rendered template shows the model's compiled SQL
            self.compiled_sql = compiled_sql
            if hasattr(self, "_override_rtif"):
                self._override_rtif(context)
        _log_dbt_event(summary.get(get_dbt_event_xcom_key(uid)))
        if is_dbt_node_status_skipped(status):
            raise AirflowSkipException(f"{self._resource_label} '{uid}' was skipped by the dbt command.")
        if is_dbt_node_status_success(status):
            return True
        raise AirflowException(f"{self._resource_label} '{uid}' finished with status '{status}'")


class RunWatcher(SummaryConsumer, DbtRunWatcherOperator):
    """A model's task (Cosmos ``DbtRunWatcherOperator``) reading ``node_results``."""


class SeedWatcher(SummaryConsumer, DbtSeedWatcherOperator):
    """A seed's task (Cosmos ``DbtSeedWatcherOperator``) reading ``node_results``."""


class SnapshotWatcher(SummaryConsumer, DbtSnapshotWatcherOperator):
    """A snapshot's task (Cosmos ``DbtSnapshotWatcherOperator``) reading ``node_results``."""


class TestWatcher(SummaryConsumer, DbtTestWatcherOperator):
    """A model's tests task (Cosmos ``DbtTestWatcherOperator``) reading ``node_results``."""

    __test__ = False  # not a pytest test class


# Cosmos' class -> ours (same constructor, template fields and fallbacks; only the first poke differs)
SUBCLASSES = {DbtProducerWatcherOperator: SummaryProducer, DbtRunWatcherOperator: RunWatcher,
              DbtSeedWatcherOperator: SeedWatcher, DbtSnapshotWatcherOperator: SnapshotWatcher,
              DbtTestWatcherOperator: TestWatcher}


def use_summary(tasks: list) -> int:
    """Turn the Cosmos watcher tasks among ``tasks`` into their ``node_results`` subclasses (in place: the
    subclasses add no state, so the built operator stays as Cosmos made it). Returns how many changed."""
    changed = 0
    for task in tasks:
        sub = SUBCLASSES.get(type(task))
        if sub is not None:
            task.__class__ = sub
            changed += 1
    return changed
