"""The daily digest of new red/orange warnings and new top flow alerts, one e-mail per bureau address.

* **What is new.** A warning whose model level is red or orange, or a rule warning of severity ``high``
  (``marts_warnings.warnings``; fundraising-flow warnings are left to the flow-alert section, not listed
  twice), and the bureau's ``top`` flow alerts by inflow amount
  (``marts_flows.flow_alerts``), that have not been sent to that address yet (``ops.notifications``,
  channel ``email_digest``). A failed send is retried on the next run; a sent one never again.
* **Who.** The addresses of the bureau in the seed ``reference.supervisor_recipients``; HQ's addresses
  receive the rows whose bureau is HQ (entities with no provincial bureau).
* **How.** One HTML message, Chinese then English, every value HTML-escaped, each item linking to its
  dashboard (``dashboard_base_url`` of the seed), sent through Airflow's SMTP notifier
  (``apache-airflow-providers-smtp``) on the connection ``smtp_conn_id``.
Runs as ``transformer`` (owner of the marts: reads every bureau's rows and filters them itself).
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from urllib.parse import quote

import psycopg

log = logging.getLogger(__name__)

WARNINGS_SQL = """
select w.warning_id, w.bureau_code, w.entity_type, w.entity_id, w.entity_name, w.period, w.rule_code,
       coalesce(w.rule_name_zh, w.rule_code), coalesce(w.rule_name_en, w.rule_code), w.severity,
       w.risk_warning_level, w.description_zh, w.description_en
from marts_warnings.warnings w
where (w.severity = 'high' or w.risk_warning_level in ('red', 'orange')) and w.bureau_code = %(bureau)s
  and w.rule_code <> 'flow_pattern:illegal_fundraising'  -- listed once, in the flow-alert section
  and not exists (select 1 from ops.notifications n where n.channel = 'email_digest' and n.recipient = %(to)s
                  and n.subject_kind = 'warning' and n.subject_id = w.warning_id and n.status = 'sent')
order by w.period desc nulls last, w.warning_id
"""
ALERTS_SQL = """
select a.alert_id, a.bureau_code, a.institution_code, a.account_no, a.holder_firm_name, a.period, a.payers,
       a.inflow_amount, a.individual_share, a.repaid_investors
from marts_flows.flow_alerts a
where coalesce(a.bureau_code, 'HQ') = %(bureau)s
  and not exists (select 1 from ops.notifications n where n.channel = 'email_digest' and n.recipient = %(to)s
                  and n.subject_kind = 'flow_alert' and n.subject_id = a.alert_id and n.status = 'sent')
order by a.inflow_amount desc, a.alert_id
limit %(top)s
"""
RECORD_SQL = """
insert into ops.notifications (channel, recipient, bureau_code, subject_kind, subject_id, status, error, sent_at)
select 'email_digest', %(to)s, %(bureau)s, kind, id, %(status)s, %(error)s,
       case when %(status)s = 'sent' then now() end
from unnest(%(kinds)s::text[], %(ids)s::text[]) as s (kind, id)
on conflict (channel, recipient, subject_kind, subject_id) do update
    set status = excluded.status, error = excluded.error, sent_at = excluded.sent_at, created_at = now()
    where ops.notifications.status <> 'sent'
"""


@dataclass
class Digest:
    bureau: str
    address: str
    base_url: str
    warnings: list[tuple] = field(default_factory=list)
    alerts: list[tuple] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.warnings and not self.alerts

    def subjects(self) -> tuple[list[str], list[str]]:
        kinds = ["warning"] * len(self.warnings) + ["flow_alert"] * len(self.alerts)
        return kinds, [w[0] for w in self.warnings] + [a[0] for a in self.alerts]


def collect(conn: psycopg.Connection, top: int = 10) -> list[Digest]:
    """One digest per recipient address with what is new for it."""
    recipients = conn.execute(
        "select bureau_code, address, dashboard_base_url from reference.supervisor_recipients "
        "order by bureau_code, address").fetchall()
    out = []
    for bureau, address, base in recipients:
        d = Digest(bureau, address, (base or "").rstrip("/"))
        args = {"bureau": bureau, "to": address, "top": top}
        d.warnings = conn.execute(WARNINGS_SQL, args).fetchall()
        d.alerts = conn.execute(ALERTS_SQL, args).fetchall()
        out.append(d)
    return out


def _e(v) -> str:
    return html.escape("" if v is None else str(v))


def _link(base: str, dashboard: str, key: str, value: str) -> str:
    return f"{base}/dashboard/{dashboard}/?{key}={quote(value, safe='')}"


def render(d: Digest, day: str) -> tuple[str, str]:
    """(subject, html) of a digest: Chinese first, then English."""
    subject = (f"[{d.bureau}] 监管预警日报 {day}：{len(d.warnings)} 条红/橙预警，{len(d.alerts)} 条资金流预警"
               f" / Daily supervisory digest: {len(d.warnings)} red/orange warnings, {len(d.alerts)} flow alerts")
    rows_w = "".join(
        f"<tr><td><a href=\"{_e(_link(d.base_url, 'supervisor_morning_dashboard', 'warning_id', w[0]))}\">"
        f"{_e(w[0][:8])}</a></td><td>{_e(w[4] or w[3])}</td><td>{_e(w[5])}</td>"
        f"<td>{_e(w[7])}<br>{_e(w[8])}</td><td>{_e(w[10] or w[9])}</td>"
        f"<td>{_e(w[11])}<br>{_e(w[12])}</td></tr>" for w in d.warnings)
    rows_a = "".join(
        f"<tr><td><a href=\"{_e(_link(d.base_url, 'illegal_fundraising_monitor', 'alert_id', a[0]))}\">"
        f"{_e(a[0])}</a></td><td>{_e(a[4] or '')}</td><td>{_e(a[5])}</td><td>{_e(a[6])}</td>"
        f"<td>{_e(a[7])}</td><td>{_e(a[9])}</td></tr>" for a in d.alerts)
    body = (
        "<html><body>"
        f"<h2>{_e(d.bureau)} 监管预警日报 {_e(day)} / Daily supervisory digest</h2>"
        f"<p>新增红色/橙色预警 {len(d.warnings)} 条，新增重点可疑资金流 {len(d.alerts)} 条。"
        "点击编号打开看板（按监管局行级权限）。<br>"
        f"New red/orange warnings: {len(d.warnings)}; new top suspected fundraising flows: {len(d.alerts)}. "
        "Click an id to open it on the dashboard (row-level security by bureau).</p>"
        "<h3>预警 / Warnings</h3><table border=\"1\" cellpadding=\"3\"><tr><th>编号 / Id</th>"
        "<th>对象 / Entity</th><th>期间 / Period</th><th>规则 / Rule</th><th>等级 / Level</th>"
        f"<th>说明 / Description</th></tr>{rows_w}</table>"
        "<h3>资金流预警 / Flow alerts</h3><table border=\"1\" cellpadding=\"3\"><tr><th>编号 / Id</th>"
        "<th>持有人 / Holder</th><th>期间 / Period</th><th>付款人数 / Payers</th><th>流入金额 / Inflow</th>"
        f"<th>返息投资人 / Investors repaid</th></tr>{rows_a}</table>"
        "<p>本邮件由监管数据平台自动生成 / Sent automatically by the supervision data platform.</p>"
        "</body></html>")
    return subject, body


def record(conn: psycopg.Connection, d: Digest, status: str, error: str | None = None) -> None:
    kinds, ids = d.subjects()
    conn.execute(RECORD_SQL, {"to": d.address, "bureau": d.bureau, "status": status, "error": error,
                              "kinds": kinds, "ids": ids})


def send_digests(url: str, smtp_conn_id: str, day: str, top: int = 10, from_email: str | None = None) -> dict:
    """Send every non-empty digest; record each subject as sent (or failed, retried next run).
    Returns counts: digests sent and failed, warnings and flow alerts notified."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    summary = {"digests_sent": 0, "digests_failed": 0, "warnings": 0, "flow_alerts": 0, "failures": []}
    with psycopg.connect(url, autocommit=True) as conn:
        for d in collect(conn, top):
            if d.empty:
                continue
            subject, body = render(d, day)
            try:
                SmtpNotifier(to=[d.address], from_email=from_email, subject=subject, html_content=body,
                             smtp_conn_id=smtp_conn_id).notify({})
            except Exception as e:  # noqa: BLE001 - one address failing must not stop the others
                reason = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:500]
                log.warning("digest to %s failed: %s", d.address, reason)
                record(conn, d, "failed", reason)
                summary["digests_failed"] += 1
                summary["failures"].append(f"{d.address}: {reason}")
                continue
            record(conn, d, "sent")
            summary["digests_sent"] += 1
            summary["warnings"] += len(d.warnings)
            summary["flow_alerts"] += len(d.alerts)
    return summary
