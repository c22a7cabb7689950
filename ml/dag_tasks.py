"""What the ``score_risk`` and ``retrain_models`` DAGs call, free of Airflow imports (tested directly).

Tasks exchange small dicts (versions, metrics, counts), never frames: each task reloads the panel from
the warehouse through the scorer role. Cheap to import (pandas and scikit-learn are imported inside the
functions): the DAG files read ``DEFAULT_PRESETS`` from here while they are parsed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ml.panel import Panel

log = logging.getLogger(__name__)
#: The panels (keys of ``ml.presets.PRESETS``) the DAGs score and retrain, each with its own champion.
DEFAULT_PRESETS = ("institution", "firm", "account")


def panel(preset: str, db_url: str) -> Panel:
    from ml.panel import load
    from ml.presets import PRESETS

    p = PRESETS[preset]
    return load(p.source, p.spec, db_url)


def train_candidate(preset: str, kind: str, db_url: str) -> dict:
    from ml import workflow
    from ml.presets import PRESETS

    p = PRESETS[preset]
    out = workflow.train_one(panel(preset, db_url), p.model_name, kind)
    return {k: out[k] for k in ("model_name", "candidate", "version", "report", "holdout", "lead", "seconds")}


def choose_and_promote(preset: str, trained: list[dict], db_url: str) -> dict:
    from ml import workflow
    from ml.presets import PRESETS

    p = PRESETS[preset]
    challenger = workflow.choose_challenger(p.model_name, trained)
    if challenger is None:
        return {"model_name": p.model_name, "challenger": None, "promoted": False, "reason": "no candidate trained"}
    d = workflow.promote(panel(preset, db_url), p.model_name, challenger)
    return {"model_name": p.model_name, "challenger": challenger, "promoted": d.promote, "reason": d.reason}


def has_champion(preset: str) -> bool:
    from ml import registry
    from ml.presets import PRESETS

    return registry.alias_version(PRESETS[preset].model_name, "champion") is not None


def score_preset(preset: str, db_url: str, run_id: str | None = None) -> dict:
    """Score the preset's latest period with its champion. Without a champion (a fresh installation)
    train the candidates and apply the promotion rule first. When the panel cannot train a model yet
    (too few labelled periods or events, e.g. the `tiny` preset) or no candidate beats the rule
    baseline, nothing is scored and ``{"scored": False, "reason": ...}`` says why."""
    from ml import scoring
    from ml.levels import LevelConfig
    from ml.models import TrainingError
    from ml.presets import PRESETS
    from ml.splits import SplitError

    p = PRESETS[preset]
    if not has_champion(preset):
        log.warning("%s has no champion yet: training the candidates and applying the promotion rule",
                    p.model_name)
        try:
            trained = [train_candidate(preset, kind, db_url) for kind in ("logreg", "gbm")]
        except (TrainingError, SplitError) as e:
            log.warning("%s: cannot train a first model on this panel: %s; nothing scored", p.model_name, e)
            return {"scored": False, "reason": f"cannot train a first model: {e}"}
        decision = choose_and_promote(preset, trained, db_url)
        if not decision["promoted"]:
            log.warning("%s: %s; nothing scored", p.model_name, decision["reason"])
            return {"scored": False, "reason": decision["reason"]}
    out = scoring.score(panel(preset, db_url), p.model_name, p.entity_type, db_url, LevelConfig.parse(),
                        p.texts, run_id=run_id)
    return {"scored": True, **out}
