"""``ml.model_status``: whether a panel has a model scoring it, and if not why (migration 040).

The serving marts show the reason instead of a warning level, so a supervisor reads "no model: too
few cases (2 events in the fit periods, need 10)" rather than a red light from a model no better
than chance.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)
_ZH = {"no model: too few cases": "无模型：案例过少",
       "no model: does not beat the rule or chance": "无模型：未优于规则或随机",
       "no model: probabilities not calibrated": "无模型：概率未校准", "scored": "已评分"}


def explain(short: str, reason: str) -> str:
    """``short: reason``, the verdict said once: a failed guardrail's reason names it already."""
    return f"{short}: {reason.replace(f' ({short}): ', ': ')}"


def record(db_url: str, entity_type: str, model_name: str, scored: bool, short: str, reason: str,
           version: str | None = None) -> None:
    import psycopg

    zh = _ZH.get(short, short)
    with psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        conn.execute(
            "insert into ml.model_status (entity_type, model_name, status, model_version, short_en, reason_en, "
            "reason_zh) values (%s, %s, %s, %s, %s, %s, %s) on conflict (entity_type, model_name) do update set "
            "status = excluded.status, model_version = excluded.model_version, short_en = excluded.short_en, "
            "reason_en = excluded.reason_en, reason_zh = excluded.reason_zh, updated_at = now()",
            (entity_type, model_name, "scored" if scored else "no_model", version, short,
             reason if scored else explain(short, reason), f"{zh}：{reason}" if not scored else zh))
    log.info("%s (%s): %s", model_name, entity_type, short if scored else f"{short}: {reason}")
