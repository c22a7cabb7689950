"""Traceability (#16 item 5): `supervision trace` from a warning down to the file and line, and the
portrait as of a date, which a later resubmission must not change. On the shared tiny/11 build."""

from __future__ import annotations

import psycopg
import pytest

from include.trace.cli import main as trace_main


@pytest.fixture(scope="module")
def wh(built_warehouse):
    return built_warehouse


def _one(wh, query: str, args=()):
    with wh.connect() as conn:
        return conn.execute(query, args).fetchone()


def test_trace_capital_ratio_warning_to_file_and_line(wh, capsys):
    row = _one(wh, "select warning_id, entity_id, source_batch_ids from marts_warnings.warnings "
                   "where rule_code in ('threshold_breach:total_car', 'threshold_breach:tier1_car', "
                   "'threshold_breach:cet1_car') order by warning_id limit 1")
    assert row is not None, "tiny/11 has a capital-ratio breach"
    warning_id, institution, batch_ids = row
    assert len(batch_ids) == 1
    file_sha, archive, line = _one(wh, "select b.file_sha256, b.archive_path, r._line from ops.batch b "
                                       "join raw.capital_report r on r._batch_id = b.batch_id where b.batch_id = %s",
                                   (batch_ids[0],))
    assert trace_main([warning_id]) == 0
    out = capsys.readouterr().out
    assert f"institution {institution}" in out
    assert f"<- batch {batch_ids[0]} [accepted] dataset capital_report" in out
    assert f"sha256 {file_sha}: sha256 verified" in out
    assert archive in out
    assert f"line {line}: cet1_capital=" in out


def test_trace_flow_alert_to_transaction_lines(wh, capsys):
    alert_id, txns = _one(wh, "select alert_id, example_inflow_txn_ids from marts_flows.flow_alerts "
                              "order by alert_id limit 1")
    batch, line = _one(wh, "select _batch_id, _line from raw.transaction where txn_id = %s", (txns[0],))
    assert trace_main([alert_id]) == 0
    out = capsys.readouterr().out
    assert f"<- batch {batch} [accepted] dataset transaction" in out
    assert f"line {line}: txn_id={txns[0]}" in out
    assert "sha256 verified" in out


def test_trace_unknown_id_is_one_line_exit_2(wh, capsys):
    assert trace_main(["no-such-warning"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no-such-warning: no such warning") and "\n" not in err


def test_as_of_unchanged_by_later_resubmission(wh, capsys):
    from include.cli.warehouse import _dbt
    from include.config import paths
    from include.ingest.admission import admit
    from include.ingest.loader import ingest_manifests
    from include.trace.asof import portrait_as_of
    from include.warehouse.connection import libpq_url, role_url
    from tests.test_ingest import capital_rows, submit

    code, p = "X9002", paths()
    landing = p.home / "landing_asof"
    with wh.connect("loader", autocommit=True) as conn:  # a new reporter: admitted by the regulator first
        admit(conn, [code], "test_trace: reports capital only")
    ingest_manifests(role_url("loader"), [submit(landing, code, capital_rows(code, "1300.00"))], p)
    with psycopg.connect(libpq_url(role_url("transformer"))) as conn:
        between = conn.execute("select clock_timestamp()").fetchone()[0]
        before = portrait_as_of(conn, code, between)
    ingest_manifests(role_url("loader"), [submit(landing, code, capital_rows(code, "1200.00"), version=2)], p)
    # the loader refreshed ops.dq_summary: keep the shared build's scorecard in step with it
    # (tests/test_warehouse_build.py compares the two)
    assert _dbt(["build", "--select", "dq_scorecard"], check=False).returncode == 0
    with psycopg.connect(libpq_url(role_url("transformer"))) as conn:
        again = portrait_as_of(conn, code, between)
        now = portrait_as_of(conn, code, conn.execute("select clock_timestamp()").fetchone()[0])
        statuses = dict(conn.execute("select s.version, b.status from ops.batch b join ops.submission s "
                                     "using (submission_id) where s.institution_code = %s", (code,)).fetchall())
    assert statuses == {1: "superseded", 2: "accepted"}
    (period, q_before), = before["quarters"].items()
    assert q_before["total_car"] == pytest.approx(1300 / 10000)
    assert again == before  # the resubmission after the cutoff changes nothing
    assert now["quarters"][period]["total_car"] == pytest.approx(1200 / 10000)
    assert [v[2] for v in before["versions"]] == [1] and [v[2] for v in now["versions"]] == [2]
    assert trace_main(["--as-of", between.isoformat(), code]) == 0
    assert "0.1300" in capsys.readouterr().out
