"""
### retrain_models — train candidates in parallel, evaluate out of time, register, promote

**Purpose.** Retrains the early-warning models on the point-in-time panels of the warehouse, one task
group per panel (`ml.dag_tasks.DEFAULT_PRESETS`: `institution`, `firm`, `account`), each with its own registered
model and champion: one mapped task per candidate (`logreg` scorecard, `gbm`), each evaluated on the
out-of-time holdout and in rolling-origin backtests against the rule baseline, with its report
(Markdown + PNGs) and model logged to MLflow and registered as a new version. Then the best candidate
becomes `challenger` (chosen on validation folds inside the training periods, not on the holdout) and
is promoted to `champion` only if it passes the guardrails (enough cases; beats the rule baseline and
chance with a bootstrap interval above zero; calibrated: `ml/guardrails.py`) and beats the champion on
the same holdout (PR-AUC +0.01 or more, Brier not worse by more than 0.005; see `ml/registry.py`).
Every version is kept; an identical retrain (same data, same configuration) reuses its version.
A panel that cannot train (too few cases, one class only) is skipped with the reason, not retried:
its candidates return `{"skipped": reason}` and `ml.model_status` records "no model: ..." for the portraits.

**Schedule.** Monthly (1st, 03:00 UTC), when `score_risk` reports large feature drift (Asset
`supervision://warehouse/ml/large_drift`), and on demand (trigger the DAG).

**Inputs.** `marts_features.*` via connection `supervision_scorer`.

**Outputs.** MLflow runs, model versions, aliases and reports under `$SUPERVISION_HOME/mlflow`; report
copies under `$SUPERVISION_HOME/ml_reports`.

**Rerun.** Safe: a rerun registers new versions; the promotion rule decides again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, TaskGroup, dag, task
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

from include.assets import DRIFT_ASSET_URI
from ml.candidates import KINDS  # the candidates' names (ml.models pulls in scikit-learn)
from ml.dag_tasks import DEFAULT_PRESETS  # a tuple of names; ml.dag_tasks imports nothing heavy

SCORER_CONN = "supervision_scorer"
CANDIDATES = list(KINDS)


@dag(
    dag_id="retrain_models",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 3 1 * *", timezone="UTC"),
                                 assets=[Asset(DRIFT_ASSET_URI)]),
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["supervision", "ml", "training"],
    default_args={"owner": "risk-analytics", "retries": 2, "retry_delay": timedelta(minutes=1),
                  "execution_timeout": timedelta(hours=2)},  # no task hangs a slot forever
    doc_md=__doc__,
)
def retrain_models():
    @task(max_active_tis_per_dagrun=2)
    def train_candidate(preset: str, kind: str) -> dict:
        from include.warehouse.connection import airflow_conn_url
        from ml.dag_tasks import train_candidate as train

        return train(preset, kind, airflow_conn_url(SCORER_CONN))

    @task
    def promote(preset: str, trained: list[dict]) -> dict:
        from include.warehouse.connection import airflow_conn_url
        from ml.dag_tasks import choose_and_promote

        return choose_and_promote(preset, list(trained), airflow_conn_url(SCORER_CONN))

    for preset in DEFAULT_PRESETS:  # a group per panel: one panel failing to train leaves the other's
        with TaskGroup(group_id=preset):
            promote(preset, train_candidate.partial(preset=preset).expand(kind=CANDIDATES))


retrain_models()
