"""
### notify_supervisors — the daily digest of new warnings to every bureau

**Purpose.** Linkage supervision (情况通报): every morning each bureau's address list (seed
`reference.supervisor_recipients`) receives one bilingual e-mail with the new red/orange warnings
(`marts_warnings.warnings`: model level red/orange, or a rule warning of severity high) and the bureau's
new top suspected fundraising flows (`marts_flows.flow_alerts`, by inflow amount), each linking to its
dashboard. Logic in `include/notify/digest.py`.

**Schedule.** Daily.

**Inputs.** The marts via connection `supervision_transformer`; SMTP via connection `supervision_smtp`
(Airflow's SMTP notifier, `apache-airflow-providers-smtp`; set `AIRFLOW_CONN_SUPERVISION_SMTP`). Without
that connection the task is skipped with the reason.

**Outputs.** E-mails; one row per (address, warning or alert) in `ops.notifications`.

**Rerun.** Safe: what was sent to an address is never sent to it again; a failed send is recorded as
failed, fails the task, and is retried by the next run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task


@dag(
    dag_id="notify_supervisors",
    schedule="@daily",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["supervision", "notifications"],
    default_args={"owner": "supervision-ops", "retries": 2, "retry_delay": timedelta(minutes=5),
                  "execution_timeout": timedelta(minutes=15)},
    doc_md=__doc__,
)
def notify_supervisors():
    @task
    def send_digests(ds=None) -> dict:
        from include.notify.tasks import notify_task

        return notify_task(ds)

    send_digests()


notify_supervisors()
