"""From a warning or flow alert down to the submitted file and its lines.

Every warning, indicator and flow-alert row carries ``source_batch_ids`` (the accepted ``ops.batch``
rows it was computed from). A batch is one data file of one submission: ``ops.batch`` names the
archived copy and its sha256, ``ops.submission`` the institution, period and version, and every raw row
keeps its ``_line`` (1 = first data row after the header). Reads run as ``transformer`` (marts, ops and
raw; no row-level security applies to the owner of the marts).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

#: Which report dataset each prudential indicator is computed from (int_prudential__indicators).
INDICATOR_DATASET = {
    "total_car": "capital_report", "tier1_car": "capital_report", "cet1_car": "capital_report",
    "npl_ratio": "asset_quality", "provision_coverage": "asset_quality", "loan_provision_ratio": "asset_quality",
    "liquidity_ratio": "liquidity", "lcr": "liquidity", "loan_to_deposit": "deposits_loans",
    "largest_single_customer_ratio": "concentration", "top10_customer_ratio": "concentration",
    "real_estate_loan_share": "concentration", "mortgage_share": "concentration",
    "roa": "profitability", "solvency_ratio": "solvency",
}
MAX_LINES = 20
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


class TraceError(Exception):
    """A one-line, user-facing reason the trace cannot be produced."""


@dataclass
class BatchLink:
    batch_id: int
    dataset: str
    file_name: str
    file_sha256: str
    archive_path: str | None
    status: str
    submission_id: str
    institution_code: str
    period: str
    version: int
    received_at: str
    archive_check: str = ""
    lines: list[tuple[int, dict]] = field(default_factory=list)
    lines_note: str = ""


def sha256_check(path: str | None, expected: str) -> str:
    """'verified' when the archived file is present and its sha256 matches, else what is wrong."""
    if not path:
        return "no archive path recorded"
    p = Path(path)
    if not p.is_file():
        return f"archive file missing: {p}"
    h = hashlib.sha256()
    with p.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256 verified" if h.hexdigest() == expected else f"sha256 MISMATCH (file has {h.hexdigest()})"


def batch_links(conn: psycopg.Connection, batch_ids: list[int]) -> list[BatchLink]:
    rows = conn.execute(
        """select b.batch_id, b.dataset, b.file_name, b.file_sha256, b.archive_path, b.status, s.submission_id,
                  s.institution_code, s.period::text, s.version, s.received_at::text
           from ops.batch b join ops.submission s on s.submission_id = b.submission_id
           where b.batch_id = any(%s) order by b.batch_id""", (list(batch_ids),)).fetchall()
    links = [BatchLink(*r) for r in rows]
    for link in links:
        link.archive_check = sha256_check(link.archive_path, link.file_sha256)
    return links


def raw_lines(conn: psycopg.Connection, link: BatchLink, where: str = "", params: dict | None = None,
              columns: tuple[str, ...] = ()) -> None:
    """Fill ``link.lines`` with (line, values) of the batch's raw rows (optionally filtered), at most
    MAX_LINES, and note how many matched in all."""
    if not _IDENT.match(link.dataset):
        raise TraceError(f"batch {link.batch_id}: unexpected dataset name {link.dataset!r}")
    table = sql.Identifier("raw", link.dataset)
    cond = sql.SQL(" and " + where) if where else sql.SQL("")
    args = {"b": link.batch_id, **(params or {})}
    total = conn.execute(sql.SQL("select count(*) from {} where _batch_id = %(b)s{}").format(table, cond),
                         args).fetchone()[0]
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns) if columns else sql.SQL("*")
    cur = conn.execute(sql.SQL("select _line, {} from {} where _batch_id = %(b)s{} order by _line limit {}").format(
        cols, table, cond, sql.Literal(MAX_LINES)), args)
    names = [d.name for d in cur.description]
    for r in cur.fetchall():
        values = {k: v for k, v in zip(names[1:], r[1:], strict=True)
                  if not k.startswith("_") and k not in ("institution_code", "report_period")}
        link.lines.append((r[0], values))
    shown = len(link.lines)
    link.lines_note = f"{total} matching row(s)" + (f", first {shown} shown" if total > shown else "")


def find_warning(conn: psycopg.Connection, ident: str) -> dict | None:
    cur = conn.execute("select * from marts_warnings.warnings where warning_id = %s", (ident,))
    row = cur.fetchone()
    return dict(zip([d.name for d in cur.description], row, strict=True)) if row else None


def find_flow_alert(conn: psycopg.Connection, ident: str) -> dict | None:
    cur = conn.execute("select * from marts_flows.flow_alerts where alert_id = %s", (ident,))
    row = cur.fetchone()
    return dict(zip([d.name for d in cur.description], row, strict=True)) if row else None


def indicator_row(conn: psycopg.Connection, institution: str, period, code: str) -> dict | None:
    cur = conn.execute(
        """select indicator_code, indicator_value, comparator, threshold_value, is_breach, detail_value,
                  source_batch_ids, detail_batch_id, rule_reference_en
           from marts_prudential.prudential_indicators
           where institution_code = %s and period = %s and indicator_code = %s""", (institution, period, code))
    row = cur.fetchone()
    return dict(zip([d.name for d in cur.description], row, strict=True)) if row else None


def trace_warning(conn: psycopg.Connection, ident: str) -> dict:
    """The chain of a warning id (marts_warnings.warnings) or a flow alert id (marts_flows.flow_alerts)."""
    warning = find_warning(conn, ident)
    alert = None
    if warning is None:
        alert = find_flow_alert(conn, ident)
        if alert is None:
            raise TraceError(f"{ident}: no such warning (marts_warnings.warnings) or flow alert "
                             "(marts_flows.flow_alerts)")
    out: dict = {"warning": warning, "alert": alert, "indicator": None, "batches": []}
    rule = warning["rule_code"] if warning else "flow_pattern:illegal_fundraising"
    if warning and (rule.startswith("threshold_breach:") or rule == "npl_understated"):
        code = warning["evidence"].get("indicator") or "npl_ratio"
        ind = indicator_row(conn, warning["entity_id"], warning["period"], code)
        out["indicator"] = ind
        batch_ids = list(warning["source_batch_ids"] or [])
        links = batch_links(conn, batch_ids)
        for link in links:
            if link.dataset == "loan":  # the loans the detail counts as non-performing, classified as performing
                raw_lines(conn, link, "five_category not in ('次级', '可疑', '损失') and overdue_days > 90",
                          columns=("loan_id", "balance", "five_category", "overdue_days"))
            else:
                raw_lines(conn, link)
        out["batches"] = links
        return out
    if warning and rule == "flow_pattern:illegal_fundraising":
        ev = warning["evidence"]
        alert = find_flow_alert(conn, f"{ev['institution_code']}:{ev['account_no']}:{warning['period']}")
        out["alert"] = alert
    if alert is not None:
        txns = list(alert["example_inflow_txn_ids"] or []) + list(alert["example_outflow_txn_ids"] or [])
        links = batch_links(conn, list(alert["source_batch_ids"] or []))
        for link in links:
            raw_lines(conn, link, "txn_id = any(%(t)s)", {"t": txns},
                      columns=("txn_id", "account_no", "txn_time", "direction", "amount", "purpose"))
        out["batches"] = [link for link in links if link.lines]
        out["batches_in_window"] = len(links)
        return out
    out["note"] = "this rule is computed from external feeds and networks, not from submitted files"
    return out
