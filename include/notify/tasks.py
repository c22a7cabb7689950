"""The task body of DAG ``notify_supervisors`` (kept here so the DAG file stays thin)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

WAREHOUSE_CONN = "supervision_transformer"
SMTP_CONN = "supervision_smtp"


def smtp_configured(conn_id: str = SMTP_CONN) -> bool:
    from airflow.sdk import Connection

    try:
        Connection.get(conn_id)
    except Exception:  # noqa: BLE001 - not defined in any backend
        return False
    return True


def notify_task(day: str, top: int = 10) -> dict:
    """Send the day's digests; skip (with the reason) when no SMTP connection is configured; fail the
    task if any digest failed (they are recorded as failed and retried on the next run)."""
    from airflow.sdk.exceptions import AirflowSkipException

    from include.notify.digest import send_digests
    from include.warehouse.connection import airflow_conn_url, libpq_url

    if not smtp_configured():
        raise AirflowSkipException(f"no SMTP connection {SMTP_CONN!r} (set AIRFLOW_CONN_{SMTP_CONN.upper()})")
    summary = send_digests(libpq_url(airflow_conn_url(WAREHOUSE_CONN)), SMTP_CONN, day, top)
    log.info("digests: %s", summary)
    if summary["digests_failed"]:
        raise RuntimeError(f"{summary['digests_failed']} digest(s) failed: " + "; ".join(summary["failures"][:3]))
    return {k: v for k, v in summary.items() if k != "failures"}
