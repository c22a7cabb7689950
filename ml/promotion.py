"""Promotion: the challenger (or a version) becomes champion only if it passes the guardrails stored with it
(``ml.guardrails``) and then the rule of ``ml.registry.decide`` against the champion on the same holdout.

Light to import (no pandas, scikit-learn or MLflow unless a champion must be re-scored): ``ml promote``
answers in well under 3 s from the stored metrics.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ml import fastreg, registry
from ml.errors import MLError

if TYPE_CHECKING:
    from ml.panel import Panel

log = logging.getLogger(__name__)


def promote(panel: Panel | None, model_name: str, version: str | None = None) -> registry.Decision:
    """Apply the guardrails, then the promotion rule, to the challenger (or ``version``).

    Stored holdout metrics are compared when both versions share the holdout (same data fingerprint);
    with ``panel`` given, a champion trained wholly before the challenger's holdout is re-scored on it.
    """
    version = version or fastreg.alias_version(model_name, "challenger")
    if version is None:
        raise MLError(f"{model_name}: no challenger to promote; train first")
    row, m = fastreg.meta(model_name, version)
    version = row["version"]
    ch_m = m["holdout_metrics"]
    champ_version = fastreg.alias_version(model_name, "champion")
    g = m.get("guardrails") or {}
    if champ_version == version:
        d = registry.Decision(False, f"version {version} is already the champion", ch_m, ch_m)
    elif not g.get("passed"):
        d = registry.Decision(False, f"guardrails failed ({g.get('short', 'no guardrail verdict stored')}): "
                                     f"{g.get('failed', 'trained before guardrails existed')}", ch_m, None)
    elif champ_version is None:
        d = registry.decide(ch_m, None, (m.get("baseline_holdout") or {}).get("pr_auc"))
    else:
        _, cm = fastreg.meta(model_name, champ_version)
        cp_periods = [*cm["fit_periods"], *cm["calibration_periods"]]  # ISO dates: ordered as strings
        if cm.get("holdout_fingerprint") == m.get("holdout_fingerprint"):
            d = registry.decide(ch_m, cm["holdout_metrics"])
        elif panel is not None and max(cp_periods) < min(m["holdout_periods"]):
            import pandas as pd

            from ml.scoring import as_trained
            from ml.train import holdout_fingerprint

            holdout = [pd.Timestamp(p) for p in m["holdout_periods"]]
            cp, _ = registry.load(model_name, champ_version)
            rows = as_trained(panel, cp).rows(holdout)
            missing = [f for f in cp.features if f not in rows.columns]
            if missing:
                d = registry.Decision(False, f"champion v{champ_version} needs features {missing} the panel lacks: "
                                             "not comparable, champion kept", ch_m, None)
            elif holdout_fingerprint(panel, holdout) != m.get("holdout_fingerprint"):
                d = registry.Decision(False, "the panel's holdout rows changed since training: retrain first",
                                      ch_m, None)
            else:
                from ml import metrics

                d = registry.decide(ch_m, metrics.evaluate(rows[panel.spec.label], cp.predict_proba(rows)))
        else:
            d = registry.Decision(False, f"not comparable: champion v{champ_version} was judged on holdout "
                                         f"{','.join(cm['holdout_periods'])}, the challenger on "
                                         f"{','.join(m['holdout_periods'])}"
                                         + ("" if panel is not None else " (give --data to re-score the champion)")
                                         + "; champion kept", ch_m, None)
    log.info("%s v%s vs champion v%s: %s (%s)", model_name, version, champ_version,
             "PROMOTE" if d.promote else "keep champion", d.reason)
    if d.promote:
        fastreg.set_alias(model_name, "champion", version)
    if champ_version != version:
        fastreg.set_tag(model_name, version, "promotion_decision",
                        f"{'promoted' if d.promote else 'not promoted'}: {d.reason}")
    return d
