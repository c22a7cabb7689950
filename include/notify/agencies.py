"""``supervision notify export --to AGENCY``: case packages for other agencies (信息共享, 线索移送).

One package per lead, in ``$SUPERVISION_HOME/outbox/agencies/<agency>/<lead>/`` (directories 0700,
files 0600): ``summary.html`` (readable, every value HTML-escaped: parties, accounts, flows, evidence,
source files) and CSV files of the rows behind it with their source file and line. Each export is
recorded in ``ops.notifications`` (channel ``agency_export``, status ``prepared``: handing the folder
over is out of band); a lead already exported to an agency is never exported to it again.

Leads are what supervisors confirmed (``ops.alert_disposition_current``, disposition ``confirmed``):

* ``public-security`` (公安), ``local-government`` (地方处非办), ``pboc`` (人民银行): suspected illegal
  fundraising, one lead per receiving account with confirmed flow alerts: its alerts, the account's
  transactions in the alert windows, the account holder and institution;
* ``discipline`` (纪检监察): concealed bad loans, one lead per confirmed ``npl_understated`` warning:
  the loans the detail counts as non-performing but the institution classified as performing.

Identifiers in the warehouse are pseudonymised tokens; re-identification for an agency goes through the
loader's controlled procedure, not through this export.
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import os
import re
import sys
from pathlib import Path

AGENCIES = {
    "public-security": ("公安机关", "Public security"),
    "local-government": ("地方政府处非办", "Local government (illegal-fundraising office)"),
    "pboc": ("中国人民银行", "People's Bank of China"),
    "discipline": ("纪检监察机关", "Discipline inspection commission"),
}

FUNDRAISING_LEADS = """
select a.institution_code || ':' || a.account_no as lead_id, a.institution_code, a.account_no,
       max(a.holder_firm_name) as holder, max(a.holder_uscc) as holder_uscc, max(a.bureau_code) as bureau,
       array_agg(a.alert_id order by a.period) as alert_ids, min(a.period) as first_period,
       max(a.period) as last_period, max(a.window_months) as window_months
from marts_flows.flow_alerts a
join ops.alert_disposition_current d
  on d.alert_kind = 'flow_alert' and d.alert_id = a.alert_id and d.disposition = 'confirmed'
group by a.institution_code, a.account_no
order by 1
"""
NPL_LEADS = """
select w.warning_id as lead_id, w.entity_id as institution_code, w.entity_name, w.bureau_code, w.period,
       w.evidence, w.source_batch_ids
from marts_warnings.warnings w
join ops.alert_disposition_current d
  on d.alert_kind = 'warning' and d.alert_id = w.warning_id and d.disposition = 'confirmed'
where w.rule_code = 'npl_understated'
order by 1
"""


class ExportError(Exception):
    pass


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]


def _write(path: Path, data: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(data)
    os.chmod(path, 0o600)


def _csv(path: Path, header: list[str], rows: list[tuple]) -> None:
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    _write(path, buf.getvalue())


def _e(v) -> str:
    return html.escape("" if v is None else str(v))


def _table(header: list[str], rows: list[tuple]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table border=\"1\" cellpadding=\"3\"><tr>{head}</tr>{body}</table>"


def _sources(conn, batch_ids: list[int]) -> list[tuple]:
    return conn.execute(
        "select b.batch_id, b.dataset, s.submission_id, b.file_name, b.file_sha256, b.archive_path "
        "from ops.batch b join ops.submission s using (submission_id) where b.batch_id = any(%s) "
        "order by b.batch_id", (batch_ids,)).fetchall()


SOURCE_HEADER = ["batch_id", "dataset", "submission_id", "file_name", "file_sha256", "archive_path"]


def _page(agency: str, title_zh: str, title_en: str, sections: list[tuple[str, str]]) -> str:
    zh, en = AGENCIES[agency]
    parts = "".join(f"<h2>{_e(h)}</h2>{body}" for h, body in sections)
    return (f"<html><head><meta charset=\"utf-8\"><title>{_e(title_en)}</title></head><body>"
            f"<h1>{_e(title_zh)} / {_e(title_en)}</h1><p>移送对象 / To: {_e(zh)} / {_e(en)}</p>{parts}"
            "</body></html>")


def fundraising_package(conn, agency: str, lead: tuple, folder: Path) -> None:
    lead_id, inst, acct, holder, uscc, bureau, alert_ids, first, last, window = lead
    alerts = conn.execute(
        "select alert_id, period, payers, individual_share, elderly_share, inflow_amount, round_share, "
        "keyword_share, repaid_investors, concentrated_outflow_share, source_batch_ids "
        "from marts_flows.flow_alerts where alert_id = any(%s) order by period", (alert_ids,)).fetchall()
    flows = conn.execute(
        "select txn_id, txn_time, direction, amount, counterparty_account, counterparty_institution_code, "
        "purpose, batch_id, source_line from staging.stg_submissions__transactions "
        "where institution_code = %s and account_no = %s "
        "and report_period > (%s::date - make_interval(months => %s)) and report_period <= %s "
        "order by txn_time, txn_id", (inst, acct, first, window, last)).fetchall()
    batch_ids = sorted({b for a in alerts for b in (a[10] or [])} | {f[7] for f in flows})
    sources = _sources(conn, batch_ids)
    alert_header = ["alert_id", "period", "payers", "individual_share", "elderly_share", "inflow_amount",
                    "round_share", "keyword_share", "repaid_investors", "concentrated_outflow_share"]
    flow_header = ["txn_id", "txn_time", "direction", "amount", "counterparty_account",
                   "counterparty_institution_code", "purpose", "batch_id", "source_line"]
    _csv(folder / "alerts.csv", alert_header, [a[:10] for a in alerts])
    _csv(folder / "flows.csv", flow_header, flows)
    _csv(folder / "source_files.csv", SOURCE_HEADER, sources)
    parties = [("账户持有人 / Account holder", holder or "(individual)", uscc or ""),
               ("开户机构 / Institution", inst, ""), ("监管局 / Bureau", bureau, "")]
    payers = sorted({f[4] for f in flows if f[2] == "收" and f[4]})
    _write(folder / "summary.html", _page(agency, "疑似非法集资线索", "Suspected illegal-fundraising lead", [
        ("当事方 / Parties", _table(["role", "name", "USCC"], parties)),
        ("账户 / Accounts", _table(["account", "institution", "inflow payers (tokens)"],
                                  [(acct, inst, ", ".join(payers))])),
        ("预警与证据 / Alerts and evidence", _table(alert_header, [a[:10] for a in alerts])),
        (f"资金流水（{len(flows)} 笔）/ Flows ({len(flows)})", _table(flow_header, flows)),
        ("来源文件 / Source files", _table(SOURCE_HEADER, sources)),
    ]))


def npl_package(conn, agency: str, lead: tuple, folder: Path) -> None:
    lead_id, inst, name, bureau, period, evidence, batch_ids = lead
    sources = _sources(conn, list(batch_ids or []))
    loan_batches = [s[0] for s in sources if s[1] == "loan"]
    loans = conn.execute(
        "select loan_id, customer_id, purpose, balance, five_category, overdue_days, _batch_id, _line "
        "from raw.loan where _batch_id = any(%s) and five_category not in ('次级', '可疑', '损失') "
        "and overdue_days > 90 order by _line", (loan_batches,)).fetchall()
    header = ["loan_id", "customer_id", "purpose", "balance", "five_category", "overdue_days", "batch_id",
              "source_line"]
    _csv(folder / "loans.csv", header, loans)
    _csv(folder / "source_files.csv", SOURCE_HEADER, sources)
    _write(folder / "summary.html", _page(agency, "隐瞒不良贷款线索", "Concealed bad loans lead", [
        ("当事方 / Parties", _table(["institution", "name", "bureau", "period"], [(inst, name, bureau, period)])),
        ("证据 / Evidence", f"<pre>{_e(json.dumps(evidence, ensure_ascii=False, indent=1))}</pre>"),
        (f"逾期90天以上仍列正常/关注的贷款（{len(loans)} 笔）/ Loans over 90 days overdue classified as performing",
         _table(header, loans)),
        ("来源文件 / Source files", _table(SOURCE_HEADER, sources)),
    ]))


def export(url: str, agency: str, outbox: Path) -> dict:
    """Export every lead not yet exported to ``agency``; return counts and the folders written."""
    import psycopg

    if agency not in AGENCIES:
        raise ExportError(f"unknown agency {agency!r}: use one of {', '.join(AGENCIES)}")
    base = outbox / "agencies" / agency
    base.mkdir(parents=True, exist_ok=True)
    for p in (outbox, outbox / "agencies", base):
        os.chmod(p, 0o700)
    written, skipped = [], 0
    with psycopg.connect(url) as conn:
        leads = conn.execute(NPL_LEADS if agency == "discipline" else FUNDRAISING_LEADS).fetchall()
        build = npl_package if agency == "discipline" else fundraising_package
        for lead in leads:
            lead_id = lead[0]
            claimed = conn.execute(
                "insert into ops.notifications (channel, recipient, bureau_code, subject_kind, subject_id, status) "
                "values ('agency_export', %s, %s, 'lead', %s, 'prepared') "
                "on conflict (channel, recipient, subject_kind, subject_id) do update set status = 'prepared', "
                "error = null where ops.notifications.status = 'failed' returning notification_id",
                (agency, lead[5] if agency != "discipline" else lead[3], lead_id)).fetchone()
            if claimed is None:
                skipped += 1
                continue
            folder = base / _safe(lead_id)
            folder.mkdir(exist_ok=True)
            os.chmod(folder, 0o700)
            build(conn, agency, lead, folder)
            conn.execute("update ops.notifications set path = %s, sent_at = now() where notification_id = %s",
                         (str(folder), claimed[0]))
            conn.commit()  # one lead at a time: a failure later leaves the earlier ones recorded
            written.append(str(folder))
    return {"agency": agency, "exported": len(written), "already_exported": skipped, "folders": written}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="supervision notify", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write case packages of confirmed leads for an agency")
    ex.add_argument("--to", required=True, choices=sorted(AGENCIES), help="receiving agency")
    args = ap.parse_args(argv)
    import psycopg

    from include.config import paths
    from include.warehouse.connection import libpq_url, role_url

    try:
        out = export(libpq_url(role_url("transformer")), args.to, paths().home / "outbox")
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except psycopg.Error as e:
        print(f"error: warehouse: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: outbox: {e}", file=sys.stderr)
        return 2
    print(f"{out['exported']} lead(s) exported to {args.to}, {out['already_exported']} already exported")
    for f in out["folders"]:
        print(f"  {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
