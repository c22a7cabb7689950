"""The in-process runner parses the DAG folder once per ``run_dags`` (include/cli/pipeline.py
``_ParseOnce``), and the watcher producer's dbt writes no JSON artifacts into its throw-away project."""

from __future__ import annotations

import os


def test_dag_test_gets_the_runners_bag_instead_of_parsing_again(airflow_dagbag):
    import airflow.dag_processing.dagbag as dagbag
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    from include.cli.pipeline import _ParseOnce
    from include.config import DAGS_DIR

    real = dagbag.BundleDagBag
    parses = []
    with _ParseOnce() as once:
        once.real = lambda *a, **kw: parses.append(kw["bundle_name"]) or real(*a, **kw)
        bag = once.dags_folder_bag()
        assert {"build_warehouse", "ingest_submissions", "score_risk"} <= set(bag.dags)
        assert not bag.import_errors
        # the call dag.test() makes before each DAG's run (airflow/sdk/definitions/dag.py)
        bundle = next(b for b in DagBundlesManager().get_all_dag_bundles()
                      if os.path.realpath(str(b.path)) == os.path.realpath(str(DAGS_DIR)))
        for _ in range(3):
            again = dagbag.BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
            assert again is bag
        assert parses == [bundle.name]  # one parse for the runner and every dag.test()
    assert dagbag.BundleDagBag is real  # restored after the run


def test_the_watcher_producer_writes_no_json_artifacts(airflow_dagbag):
    tasks = {t.task_id: t for t in airflow_dagbag.dags["build_warehouse"].tasks}
    flags = tasks["dbt.dbt_producer_watcher"].dbt_cmd_flags
    assert "--no-write-json" in flags and flags[:2] == ["--indirect-selection", "cautious"]
