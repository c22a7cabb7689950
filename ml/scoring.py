"""The champion scores the latest period of a panel into ``ml.risk_scores``; drift goes to
``ml.feature_drift``.

Each row gets the calibrated probability, a warning level from the cut-offs, rule overrides that
raise it, and its top reasons in words (``ml.reasons``: value, peer median and direction, in zh/en
from the feature docs; no coefficient or log-odds reaches the table). Features are prepared as at
training (the model's stored NaN policy and derived features). Writing is idempotent: one transaction
replaces the rows of (entity type, period, model, version); ``ml.model_status`` records that the panel
is scored.
"""

from __future__ import annotations

import json
import logging
import time

import pandas as pd
import psycopg

from ml import derive, drift, reasons, registry, status
from ml.errors import MLError
from ml.levels import LevelConfig, apply_overrides, assign
from ml.panel import Panel

log = logging.getLogger(__name__)


def as_trained(panel: Panel, model) -> Panel:
    """The panel with the model's derived features and zero-filled features, as at training."""
    panel = derive.derive(panel, derive.parse(model.meta.get("derive")))
    zero = [f for f, p in (model.meta.get("nan_policy") or {}).items() if p == "zero" and f in panel.frame]
    if zero:
        frame = panel.frame.copy()
        frame[zero] = frame[zero].fillna(0.0)
        panel = Panel(frame, panel.spec, panel.source, panel.handling)
    return panel


def score(panel: Panel, model_name: str, entity_type: str, db_url: str, levels: LevelConfig | None = None,
          texts: dict[str, tuple[str, str]] | None = None, period=None, ref: str = "champion",
          run_id: str | None = None, units: dict[str, str] | None = None) -> dict:
    """Score ``period`` (default: the panel's latest) with the ``ref`` model; write scores and drift."""
    t0 = time.perf_counter()
    levels = levels or LevelConfig.parse()
    model, version = registry.load(model_name, ref)
    panel = as_trained(panel, model)
    s = panel.spec
    period = pd.Timestamp(period) if period is not None else max(panel.periods(labelled_only=False))
    rows = panel.frame[panel.frame[s.period] == period].reset_index(drop=True)
    if rows.empty:
        raise MLError(f"{panel.source}: no rows for period {period.date()}")
    missing = [f for f in model.features if f not in rows.columns]
    if missing:
        raise MLError(f"{panel.source}: {model_name} v{version} needs features {missing} (rule: features_present)")
    prob = model.predict_proba(rows)
    lv, overrides = apply_overrides(rows, assign(prob, levels), levels)
    why = reasons.explain(model, rows, derive.texts(texts or {}, tuple(model.features)), units)
    t_score = time.perf_counter() - t0
    dr = drift.compare(model.meta.get("psi_reference", {}), rows, month=period.month)
    records = [(entity_type, rows[s.entity].iat[i], period.date(), model_name, version, float(prob[i]), lv[i],
                json.dumps(why[i], ensure_ascii=False), json.dumps(overrides[i], ensure_ascii=False), run_id)
               for i in range(len(rows))]
    with psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn, conn.transaction():
        conn.execute("delete from ml.risk_scores where entity_type = %s and period = %s and model_name = %s "
                     "and model_version = %s", (entity_type, period.date(), model_name, version))
        with conn.cursor() as cur:
            cur.executemany(
                "insert into ml.risk_scores (entity_type, entity_id, period, model_name, model_version, probability, "
                "warning_level, reasons, overrides, run_id) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", records)
            cur.executemany(
                "insert into ml.feature_drift (model_name, model_version, period, feature, psi, level) "
                "values (%s, %s, %s, %s, %s, %s) on conflict (model_name, model_version, period, feature) "
                "do update set psi = excluded.psi, level = excluded.level, computed_at = now()",
                [(model_name, version, period.date(), r.feature, float(r.psi), r.level) for r in dr.itertuples()])
    by = (f"the calibrated rule {model.meta.get('rule')} ({model_name} v{version}): no learned model beat it"
          if model.kind == "rule" else f"{model_name} v{version} ({model.kind})")
    status.record(db_url, entity_type, model_name, True, "scored", f"scored by {by}", version)
    large = dr.loc[dr["level"] == "large", "feature"].tolist()
    if large:
        log.warning("%s v%s: large drift (PSI > %.2f) in %s for period %s", model_name, version, drift.LARGE,
                    large, period.date())
    counts = pd.Series(lv).value_counts().to_dict()
    out = {"model_name": model_name, "version": version, "period": str(period.date()), "entities": len(rows),
           "levels": {k: int(v) for k, v in counts.items()}, "overridden": sum(bool(o) for o in overrides),
           "large_drift": large, "score_seconds": round(t_score, 4),
           "entities_per_second": round(len(rows) / t_score, 1) if t_score else None,
           "seconds": round(time.perf_counter() - t0, 3)}
    log.info("scored %s", out)
    return out
