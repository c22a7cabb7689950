"""Notifications (#16 item 4): the daily digest through Airflow's SMTP notifier to a local SMTP server
(aiosmtpd on 127.0.0.1), and the inter-agency case packages. On the shared tiny/11 build."""

from __future__ import annotations

import email
import json
import os
import socket
import stat
from email import policy

import pytest

NOTE = "test_notify fixture"


@pytest.fixture(scope="module")
def wh(built_warehouse):
    return built_warehouse


@pytest.fixture
def smtp_server(monkeypatch):
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
            self.messages.append(envelope)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("AIRFLOW_CONN_SUPERVISION_SMTP", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": port,
        "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "platform@supervision.example",
                  "timeout": 10, "retry_limit": 0}}))
    try:
        yield inbox
    finally:
        controller.stop()


def test_digest_reaches_the_bureau_once(wh, smtp_server):
    from include.notify.digest import send_digests
    from include.warehouse.connection import libpq_url

    url = libpq_url(wh.role_url("transformer"))
    with wh.connect() as conn:
        expected = dict(conn.execute(
            "select r.address, count(*) from reference.supervisor_recipients r join marts_warnings.warnings w "
            "on w.bureau_code = r.bureau_code where (w.severity = 'high' or w.risk_warning_level in ('red', 'orange')) "
            "and w.rule_code <> 'flow_pattern:illegal_fundraising' group by r.address").fetchall())
        sample = conn.execute("select bureau_code, warning_id from marts_warnings.warnings where severity = 'high' "
                              "and rule_code <> 'flow_pattern:illegal_fundraising' "
                              "order by warning_id limit 1").fetchone()
    assert expected, "tiny/11 has high-severity warnings"
    out = send_digests(url, "supervision_smtp", "2026-01-05", top=5)
    assert out["digests_failed"] == 0, out["failures"]
    assert out["digests_sent"] >= len(expected)
    assert out["warnings"] == sum(expected.values())
    by_rcpt = {e.rcpt_tos[0]: e for e in smtp_server.messages}
    assert set(expected) <= set(by_rcpt)
    bureau, warning_id = sample
    address = min(a for a in expected if f"@{bureau.lower()}." in a or bureau == "HQ" and a.startswith("duty"))
    msg = email.message_from_bytes(by_rcpt[address].content, policy=policy.default)
    assert msg["From"] == "platform@supervision.example"
    assert f"[{bureau}] 监管预警日报 2026-01-05" in msg["Subject"] and "Daily supervisory digest" in msg["Subject"]
    body = msg.get_body(preferencelist=("html",)).get_content()
    assert f"/dashboard/supervisor_morning_dashboard/?warning_id={warning_id}" in body
    assert "预警 / Warnings" in body and "资金流预警 / Flow alerts" in body
    with wh.connect() as conn:
        sent = conn.execute("select count(*) from ops.notifications where channel = 'email_digest' "
                            "and status = 'sent' and subject_kind = 'warning'").fetchone()[0]
    assert sent == sum(expected.values())
    n_before = len(smtp_server.messages)
    again = send_digests(url, "supervision_smtp", "2026-01-06", top=5)
    assert again["warnings"] == 0  # every warning was sent yesterday: none twice
    last = send_digests(url, "supervision_smtp", "2026-01-07", top=5)
    assert last["warnings"] == 0
    with wh.connect() as conn:
        alerts = conn.execute("select count(*) from marts_flows.flow_alerts").fetchone()[0]
        sent, distinct = conn.execute(
            "select count(*), count(distinct subject_id) from ops.notifications where channel = 'email_digest' "
            "and status = 'sent' and subject_kind = 'flow_alert'").fetchone()
    # each day the next top alerts of each bureau, none of them twice, never more than the queue holds
    assert sent == distinct == out["flow_alerts"] + again["flow_alerts"] + last["flow_alerts"] <= alerts
    assert again["flow_alerts"] > 0 or out["flow_alerts"] == alerts
    assert len(smtp_server.messages) == n_before + again["digests_sent"] + last["digests_sent"]


def test_failed_send_is_recorded_and_retried(wh, monkeypatch):
    from include.notify.digest import send_digests
    from include.warehouse.connection import libpq_url

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AIRFLOW_CONN_SUPERVISION_SMTP", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": port,
        "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "p@x.example", "timeout": 2,
                  "retry_limit": 0}}))
    with wh.connect() as conn:
        conn.execute("insert into reference.supervisor_recipients values ('HA', 'new-desk@ha.supervision.example', "
                     "'https://bi.example')")
        conn.commit()
    try:
        out = send_digests(libpq_url(wh.role_url("transformer")), "supervision_smtp", "2026-01-07")
        assert out["digests_failed"] >= 1 and out["digests_sent"] == 0
        with wh.connect() as conn:
            statuses = {r[0] for r in conn.execute("select status from ops.notifications where recipient = "
                                                   "'new-desk@ha.supervision.example'").fetchall()}
        assert statuses == {"failed"}
    finally:
        with wh.connect() as conn:
            conn.execute("delete from reference.supervisor_recipients "
                         "where address = 'new-desk@ha.supervision.example'")
            conn.commit()


@pytest.fixture
def confirmed_leads(wh):
    with wh.connect() as conn:
        alert = conn.execute("select alert_id, institution_code, account_no from marts_flows.flow_alerts "
                             "order by alert_id limit 1").fetchone()
        npl = conn.execute("select warning_id from marts_warnings.warnings where rule_code = 'npl_understated' "
                           "order by warning_id limit 1").fetchone()
        conn.execute("select ops.record_disposition('flow_alert', %s, 'confirmed', %s)", (alert[0], NOTE))
        if npl:
            conn.execute("select ops.record_disposition('warning', %s, 'confirmed', %s)", (npl[0], NOTE))
        conn.commit()
    yield alert, npl
    with wh.connect() as conn:  # labels for the account model: leave none behind
        conn.execute("delete from ops.alert_disposition where note = %s", (NOTE,))
        conn.commit()


def test_export_case_packages_once(wh, confirmed_leads, capsys):
    from include.config import paths
    from include.notify.agencies import main

    (alert_id, inst, acct), npl = confirmed_leads
    assert main(["export", "--to", "public-security"]) == 0
    assert "1 lead(s) exported to public-security" in capsys.readouterr().out
    folder = paths().home / "outbox" / "agencies" / "public-security" / f"{inst}_{acct}"
    assert sorted(p.name for p in folder.iterdir()) == ["alerts.csv", "flows.csv", "source_files.csv", "summary.html"]
    for p in (folder, folder.parent, folder.parent.parent):
        assert stat.S_IMODE(p.stat().st_mode) == 0o700
    for p in folder.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    with wh.connect() as conn:
        txns = {r[0] for r in conn.execute(
            "select unnest(example_inflow_txn_ids || example_outflow_txn_ids) from marts_flows.flow_alerts "
            "where alert_id = %s", (alert_id,)).fetchall()}
        files = {r[0] for r in conn.execute(
            "select b.file_sha256 from marts_flows.flow_alerts a join ops.batch b "
            "on b.batch_id = any(a.source_batch_ids) where a.alert_id = %s", (alert_id,)).fetchall()}
        row = conn.execute("select status, path, bureau_code from ops.notifications where channel = 'agency_export' "
                           "and recipient = 'public-security' and subject_id = %s", (f"{inst}:{acct}",)).fetchone()
    flows = (folder / "flows.csv").read_text(encoding="utf-8")
    assert txns and all(t in flows for t in txns)
    html = (folder / "summary.html").read_text(encoding="utf-8")
    assert "疑似非法集资线索 / Suspected illegal-fundraising lead" in html and alert_id in html
    assert all(sha in html for sha in files)
    assert row[0] == "prepared" and row[1] == str(folder) and row[2]
    assert main(["export", "--to", "public-security"]) == 0
    assert "0 lead(s) exported to public-security, 1 already exported" in capsys.readouterr().out
    if npl:
        assert main(["export", "--to", "discipline"]) == 0
        loans = (paths().home / "outbox" / "agencies" / "discipline" / npl[0] / "loans.csv").read_text()
        assert loans.count("\n") >= 2  # header and at least one hidden loan with its source line


def test_summary_html_escapes_values():
    from include.notify.agencies import _table

    out = _table(["name"], [("<script>alert(1)</script> & co",)])
    assert "<script>" not in out and "&lt;script&gt;" in out and "&amp; co" in out


def test_export_errors_are_one_line(capsys):
    from include.notify.agencies import ExportError, export

    with pytest.raises(ExportError, match="unknown agency"):
        export("postgresql://unused", "fbi", __import__("pathlib").Path(os.devnull))
