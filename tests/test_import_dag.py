"""The ``import_transactions`` DAG (issue #12: the foreign import "and a DAG task"): the file checks (inside
the imports folder, a regular file, bounded), and one real run with ``dag.test()`` on the hand-written
statement of tests/test_flows_import.py (1,000+ transfers, a planted collector): a dry run writes nothing,
the real run writes and ingests the submissions, and after the dbt build the collector is in
``marts_flows.flow_alerts``.

The run uses a state directory and a database of its own (the session's secrets copied, so the same
roles and pseudonymisation key), so the shared landing zone and marts other tests count stay as they are.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date
from pathlib import Path

import psycopg
import pytest

from include.flows.import_task import resolve_import_file
from include.flows.importer import BadInput
from tests.conftest import throwaway_database
from tests.test_flows_import import COLLECTOR, transfers, write_csv


def test_the_dag_publishes_what_the_importer_writes(airflow_dagbag):
    from include.assets import RAW_ASSET_URIS

    dag = airflow_dagbag.dags["import_transactions"]
    assert type(dag.timetable).__name__ == "NullTimetable"  # on demand only (schedule=None)
    assert set(dag.params) == {"file", "institution", "dry_run", "replace"}
    emitted = {o.uri for t in dag.tasks for o in t.outlets}
    assert emitted == {RAW_ASSET_URIS[d] for d in ("customer_individual", "customer_corporate", "account",
                                                   "transaction")}
    assert dag.get_task("ingest").upstream_task_ids == {"import_file"}


def test_only_regular_files_inside_the_imports_folder_are_read(tmp_path):
    imports = tmp_path / "imports"
    imports.mkdir()
    (imports / "ok.csv").write_text("a\n" * 10)
    (imports / "sub").mkdir()
    (imports / "sub" / "ok2.csv").write_text("a\n")
    (tmp_path / "secret.csv").write_text("x\n")
    (imports / "link.csv").symlink_to(tmp_path / "secret.csv")
    assert resolve_import_file("ok.csv", imports) == (imports / "ok.csv").resolve()
    assert resolve_import_file("sub/ok2.csv", imports) == (imports / "sub" / "ok2.csv").resolve()
    assert resolve_import_file(str(imports / "ok.csv"), imports) == (imports / "ok.csv").resolve()
    refused = {
        "../secret.csv": "outside the imports folder",
        str(tmp_path / "secret.csv"): "outside the imports folder",
        "link.csv": "outside the imports folder",  # a symlink out of the folder
        "sub/../../secret.csv": "outside the imports folder",
        "sub": "not a regular file",
        ".": "outside the imports folder",
        "missing.csv": "no such file",
        "": "no file given",
    }
    for name, why in refused.items():
        with pytest.raises(BadInput) as e:
            resolve_import_file(name, imports)
        assert why in str(e.value) and "\n" not in str(e.value), (name, str(e.value))
    with pytest.raises(BadInput, match=r"ok.csv: 20 bytes, more than the limit of 19"):
        resolve_import_file("ok.csv", imports, limit=19)


@pytest.fixture(scope="module")
def dag_runs(warehouse, airflow_dagbag):
    """Two runs of the DAG (dry, then real) in a state directory and database of their own, then the flow
    marts built by dbt on what the run loaded."""
    from include.airflow_env import CONN_IDS
    from include.cli.warehouse import _dbt
    from include.config import StatePaths
    from include.ingest.admission import admit
    from include.warehouse.bootstrap import bootstrap
    from include.warehouse.connection import libpq_url, role_url

    home = Path(tempfile.mkdtemp(prefix="sv-impdag-"))
    shutil.copytree(warehouse.state.secrets, home / "secrets")  # the same roles' passwords and key
    state = StatePaths(home)
    mp = pytest.MonkeyPatch()
    mp.setenv("SUPERVISION_HOME", str(home))
    rows = transfers()
    try:
        with throwaway_database(warehouse.admin_url, mp, prefix="impdag"):
            bootstrap(state)
            for role, conn_id in CONN_IDS.items():
                mp.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", libpq_url(role_url(role, state)))
            state.imports.mkdir(mode=0o700)
            write_csv(state.imports / "statement.csv", rows)
            dag = airflow_dagbag.dags["import_transactions"]

            def run(file: str, dry_run: bool = False):  # every param given: dag.test() keeps the last conf's
                return dag.test(run_conf={"file": file, "institution": "", "dry_run": dry_run, "replace": False})

            unknown = run("statement.csv")  # IMPB1/IMPB2 are not admitted yet
            with psycopg.connect(libpq_url(role_url("loader", state)), autocommit=True) as conn:
                admit(conn, ["IMPB1", "IMPB2"], "test_import_dag: an investigator's transfer export")
            escape = run("../secrets/roles.json")
            dry = run("statement.csv", dry_run=True)
            landing_after_dry = sorted(state.landing.rglob("*")) if state.landing.exists() else []
            real = run("statement.csv")
            proc = _dbt(["build", "--select", "+flow_alerts", "--indirect-selection", "cautious"], check=False)
            assert proc.returncode == 0, proc.stdout[-6000:]
            yield {"rows": rows, "state": state, "unknown": unknown, "escape": escape, "dry": dry,
                   "landing_after_dry": landing_after_dry, "real": real,
                   "connect": lambda: psycopg.connect(libpq_url(os.environ["SUPERVISION_DATABASE_URL"]))}
    finally:
        mp.undo()
        shutil.rmtree(home, ignore_errors=True)


def _task_states(dr) -> dict[str, str]:
    return {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in dr.get_task_instances()}


def test_refusals_fail_the_import_task_and_write_nothing(dag_runs):
    for run in ("unknown", "escape"):
        dr = dag_runs[run]
        assert "failed" in str(dr.state), run
        states = _task_states(dr)
        assert states["import_file"] == "failed" and states["ingest"] == "upstream_failed", (run, states)
    assert dag_runs["landing_after_dry"] == []


def test_dry_run_checks_and_writes_nothing(dag_runs):
    states = _task_states(dag_runs["dry"])
    assert states["import_file"] == "success" and states["ingest"] == "skipped", states
    assert {s for t, s in states.items() if t.startswith("publish_")} == {"skipped"}


def test_the_run_ingests_every_submission_it_wrote(dag_runs):
    dr = dag_runs["real"]
    assert "success" in str(dr.state), _task_states(dr)
    states = _task_states(dr)
    assert {t: s for t, s in states.items() if t.startswith("publish_")} == {
        f"publish_{d}": "success" for d in ("customer_individual", "customer_corporate", "account", "transaction")}
    manifests = sorted(dag_runs["state"].landing.glob("*/*/*/manifest.json"))
    assert len(manifests) == 12  # two institutions x six months
    with dag_runs["connect"]() as conn:
        statuses = dict(conn.execute("select b.status, count(*) from ops.batch b join ops.submission s "
                                     "using (submission_id) group by 1").fetchall())
        landed = conn.execute("select count(distinct landing_path) from ops.submission").fetchone()[0]
        runs = {r[0] for r in conn.execute("select distinct dag_run_id from ops.batch")}
        n_txn = conn.execute("select count(*) from raw.transaction").fetchone()[0]
        n_acc = conn.execute("select count(*) from raw.account").fetchone()[0]
    assert set(statuses) <= {"accepted", "accepted_with_warning"}, statuses
    assert landed == 12 and runs == {dr.run_id}
    assert len(dag_runs["rows"]) >= 1000 and n_txn == 2 * len(dag_runs["rows"]) and n_acc > 400


def test_the_collector_reaches_flow_alerts(dag_runs):
    from include.flows.identifiers import account_no_for
    from include.privacy.pseudonymise import load_key, token

    collector = token(account_no_for(COLLECTOR), "account", load_key(dag_runs["state"]))
    with dag_runs["connect"]() as conn:
        alerts = conn.execute("select period, queue_rank, payers from marts_flows.flow_alerts "
                              "where account_no = %s order by period", [collector]).fetchall()
    assert alerts, "the collector never reached flow_alerts"
    assert {a[0] for a in alerts} & {date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)}
    assert min(a[1] for a in alerts) == 1 and max(a[2] for a in alerts) >= 10
