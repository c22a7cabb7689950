"""
### score_risk — the champion early-warning models score the latest period

**Purpose.** When the warehouse is rebuilt, the champion model of each panel (`ml.dag_tasks.DEFAULT_PRESETS`:
the institution panel `marts_features.institution_quarter_training`, the firm panel
`marts_features.firm_month_training` and the account panel `marts_features.account_month_training`, one
task each) scores its latest period into `ml.risk_scores`:
calibrated probability, warning level (red/orange/yellow/blue from the cut-offs in
`SUPERVISION_ML_CUTOFFS`, raised by rule overrides such as capital under the minimum) and the top
reasons with their contributions. Feature drift (PSI per feature against the training rows) goes to
`ml.feature_drift`; large drift is logged and emits the Asset that triggers `retrain_models`. On a
fresh installation without a champion it trains the candidates and applies the guardrails and the
promotion rule first; if the panel has too few cases to train on (e.g. the institution panel of the
`tiny` preset) or no candidate passes the guardrails (beats the rule baseline and chance with a
bootstrap interval above zero, calibrated), nothing is scored for it, `ml.model_status` records why
("no model: too few cases ...") and the portraits show that reason instead of a level.

**Schedule.** Data-aware: the Asset `supervision://warehouse/marts` from `build_warehouse`.

**Inputs.** The feature marts via connection `supervision_scorer` (role `scorer`); the MLflow registry
under `$SUPERVISION_HOME/mlflow`.

**Outputs.** `ml.risk_scores`, `ml.feature_drift`; Assets `supervision://warehouse/ml/risk_scores` and,
on large drift, `supervision://warehouse/ml/large_drift`. Then the serving marts that read the scores
(`stg_ml__latest_risk_scores`, `stg_ml__model_status` and everything downstream: the portraits and the
warnings list) are rebuilt by Cosmos (task group `serving`, once no panel failed), so supervisors see the
new levels and reasons, or why there is no model, at once.

**Rerun.** Safe: the scores of a (period, model, version) are replaced in one transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, dag, get_current_context, task

from include.assets import DRIFT_ASSET_URI, MARTS_ASSET_URI, SCORES_ASSET_URI
from include.cosmos_dbt import dbt_task_group
from ml.dag_tasks import DEFAULT_PRESETS  # a tuple of names; ml.dag_tasks imports nothing heavy

SCORER_CONN = "supervision_scorer"


@dag(
    dag_id="score_risk",
    schedule=[Asset(MARTS_ASSET_URI)],
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["supervision", "ml", "scoring"],
    default_args={"owner": "risk-analytics", "retries": 2, "retry_delay": timedelta(minutes=1),
                  "execution_timeout": timedelta(hours=1)},  # no task hangs a slot forever
    doc_md=__doc__,
)
def score_risk():
    @task(outlets=[Asset(SCORES_ASSET_URI)])
    def score(preset: str) -> dict:
        import logging

        from include.warehouse.connection import airflow_conn_url
        from ml.dag_tasks import score_preset

        out = score_preset(preset, airflow_conn_url(SCORER_CONN), get_current_context()["run_id"])
        if not out["scored"]:  # e.g. too few cases: ml.model_status says so, the portraits show it
            logging.getLogger(__name__).warning("%s: not scored: %s", preset, out["reason"])
        return out

    @task(outlets=[Asset(DRIFT_ASSET_URI)])
    def flag_large_drift(summary: dict) -> list[str]:
        """Emit the drift Asset (which triggers retrain_models) only when a feature drifted a lot."""
        from airflow.sdk.exceptions import AirflowSkipException

        if not summary.get("large_drift"):
            raise AirflowSkipException("no feature with large drift")
        return summary["large_drift"]

    scores = []
    for preset in DEFAULT_PRESETS:  # one task per panel: a panel that cannot score yet skips alone
        summary = score.override(task_id=f"score_{preset}")(preset)
        flag_large_drift.override(task_id=f"flag_large_drift_{preset}")(summary)
        scores.append(summary)
    scores >> dbt_task_group("serving", select=["stg_ml__latest_risk_scores+", "stg_ml__model_status+"],
                             root_trigger_rule="none_failed_min_one_success")


score_risk()
