"""Model registry: MLflow tracking + model registry on SQLite under ``$SUPERVISION_HOME/mlflow``.

Every trained candidate is an MLflow run (parameters, out-of-time metrics, its report and PNGs, the
pickled model and its metadata) and a new version of its registered model; nothing is deleted.
Aliases (MLflow's replacement for stages): ``challenger`` = the best candidate of the latest training
run, ``champion`` = the version that scores.

Promotion rule (``decide``): the challenger replaces the champion only when, on the *same*
out-of-time holdout, its PR-AUC is at least ``MARGIN`` (0.01) higher and its Brier score is not worse
by more than ``BRIER_TOLERANCE`` (0.005). "Same holdout" means: the champion is re-scored on the
challenger's holdout rows when all of the champion's training periods precede that holdout;
otherwise the stored metrics are compared only if both holdouts have the same data fingerprint;
otherwise the two are not comparable and the champion stays. Without a champion, the challenger is
promoted if it beats the rule baseline's PR-AUC on its holdout (or there is no baseline).
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from include.config import paths
from ml.metrics_json import safe as jsonsafe

if TYPE_CHECKING:
    from ml.models import TrainedModel

log = logging.getLogger(__name__)
MARGIN = 0.01
BRIER_TOLERANCE = 0.005
PRIMARY = "pr_auc"


def tracking_uri() -> str:
    """SQLite under the state directory, or ``SUPERVISION_MLFLOW_TRACKING_URI`` (e.g. a team's MLflow server).
    Not ``MLFLOW_TRACKING_URI``: ``mlflow.set_tracking_uri`` writes that variable, so it would pin the first
    state directory a process used."""
    root = paths().home / "mlflow"
    root.mkdir(parents=True, exist_ok=True)
    return os.environ.get("SUPERVISION_MLFLOW_TRACKING_URI") or f"sqlite:///{root / 'mlflow.db'}"


def artifact_root() -> str:
    return (paths().home / "mlflow" / "artifacts").as_uri()


_WARM: threading.Thread | None = None
_WARM_LOCK = threading.Lock()


def _open_stores() -> None:
    try:
        from mlflow import MlflowClient

        uri = tracking_uri()
        MlflowClient(tracking_uri=uri, registry_uri=uri).search_registered_models(max_results=1)
    except Exception as e:  # noqa: BLE001 - the real call after it reports any problem with the store
        log.debug("MLflow warm-up: %s", e)


def warm_up() -> None:
    """Import MLflow and open its stores in a background thread while the candidates fit: on a fresh
    installation MLflow creates its tracking database first (its schema migrations: ~13-20 s on a busy
    2-core machine, then ~5 s of imports), which otherwise ran after the fits, before the first version could
    be registered. MLflow caches the opened stores per URI, so the later :func:`client` reuses them; it (and
    every ``ml.fastreg`` read of the database) waits for the warm-up to end first, so two threads never
    create the database at once and nothing reads it half-made."""
    global _WARM
    with _WARM_LOCK:
        if _WARM is None:
            _WARM = threading.Thread(target=_open_stores, name="mlflow-warm-up", daemon=True)
            _WARM.start()


def wait_for_warm_up() -> None:
    t = _WARM
    if t is not None and t.is_alive() and t is not threading.current_thread():
        t.join()


def client():
    wait_for_warm_up()
    from mlflow import MlflowClient

    uri = tracking_uri()
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _experiment(c, name: str) -> str:
    exp = c.get_experiment_by_name(name)
    return exp.experiment_id if exp else c.create_experiment(name, artifact_location=f"{artifact_root()}/{name}")


def _flat(prefix: str, d: dict) -> dict[str, float]:
    return {f"{prefix}_{k}": float(v) for k, v in d.items()
            if isinstance(v, (int, float)) and math.isfinite(v)}  # drop NaN and inf


def register(model_name: str, model: TrainedModel, report_dir: Path, tags: dict[str, str] | None = None) -> str:
    """Log a run with the model, its report and figures; register a new version. Returns the version."""
    c = client()
    run = c.create_run(_experiment(c, model_name), tags={"candidate": model.kind, **(tags or {})},
                       run_name=f"{model_name}-{model.kind}")
    rid = run.info.run_id
    m = model.meta
    try:
        from mlflow.entities import Metric, Param
        from mlflow.utils.time import get_current_time_millis

        # one batch (one transaction of the store) instead of a round trip and a commit per parameter and metric:
        # the same parameters (as strings, as log_param stores them) and metrics (step 0, as log_metric logs them)
        params = {"candidate": model.kind, "features": len(model.features), "embargo": m["embargo"],
                  "calibration": model.calibration_method, "fit_periods": m["split"]["fit"],
                  "calibration_periods": m["split"]["calibrate"], "holdout": m["split"]["holdout"],
                  "panel_source": m["panel_source"], "code_version": m["code_version"],
                  "guardrails": (m.get("guardrails") or {}).get("short", "")}
        now = get_current_time_millis()
        metrics = {**_flat("holdout", m["holdout_metrics"]), **_flat("validation", m["backtest_metrics"]),
                   **_flat("lead", m["lead_time"]), **_flat("bootstrap", m.get("bootstrap") or {})}
        c.log_batch(rid, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
                    params=[Param(k, str(v)) for k, v in params.items()])
        with tempfile.TemporaryDirectory() as tmp:
            md = Path(tmp) / "model"
            md.mkdir()
            import joblib

            joblib.dump(model, md / "model.joblib")
            (md / "meta.json").write_text(json.dumps(jsonsafe({"kind": model.kind, "features": model.features, **m}),
                                                     indent=2, default=str))
            c.log_artifacts(rid, str(md), "model")
        c.log_artifacts(rid, str(report_dir), "report")
        c.set_terminated(rid)
    except Exception:
        c.set_terminated(rid, status="FAILED")
        raise
    try:
        c.get_registered_model(model_name)
    except Exception:
        c.create_registered_model(model_name, description=f"Early-warning model {model_name}")
    mv = c.create_model_version(model_name, f"{run.info.artifact_uri}/model", run_id=rid, tags={
        "candidate": model.kind, "holdout_fingerprint": m["holdout_fingerprint"],
        "holdout_pr_auc": f"{m['holdout_metrics']['pr_auc']:.6f}",
        "holdout_roc_auc": f"{m['holdout_metrics']['roc_auc']:.6f}",
        "holdout_brier": f"{m['holdout_metrics']['brier']:.6f}",
        "report": f"{run.info.artifact_uri}/report/report.md", **(tags or {})})
    log.info("registered %s version %s (%s, run %s)", model_name, mv.version, model.kind, rid)
    return str(mv.version)


def load(model_name: str, ref: str = "champion") -> tuple[TrainedModel, str]:
    """(model, version) for an alias (champion/challenger) or a version number."""
    ref = pick(model_name, versions(model_name), ref)["version"]  # one-line error if unknown
    c = client()
    mv = c.get_model_version(model_name, ref) if ref.isdigit() else c.get_model_version_by_alias(model_name, ref)
    with tempfile.TemporaryDirectory() as tmp:
        local = c.download_artifacts(mv.run_id, "model", tmp)
        import joblib

        model = joblib.load(Path(local) / "model.joblib")
    return model, str(mv.version)


def pick(model_name: str, vs: list[dict], ref: str) -> dict:
    """The version of ``vs`` (see :func:`versions`) that ``ref`` (a version number or an alias) names."""
    from ml.errors import MLError

    if not vs:
        raise MLError(f"{model_name}: no registered model of that name (train one first)")
    hit = next((v for v in vs if v["version"] == str(ref) or ref in v["aliases"]), None)
    if hit is None:
        raise MLError(f"{model_name}: no version or alias {ref!r} (versions {vs[0]['version']}..{vs[-1]['version']}, "
                      f"aliases {sorted({a for v in vs for a in v['aliases']}) or 'none'})")
    return hit


def alias_version(model_name: str, alias: str) -> str | None:
    c = client()
    try:
        return str(c.get_model_version_by_alias(model_name, alias).version)
    except Exception:
        return None


def set_alias(model_name: str, alias: str, version: str) -> None:
    client().set_registered_model_alias(model_name, alias, version)
    log.info("%s: alias %s -> version %s", model_name, alias, version)


def versions(model_name: str) -> list[dict]:
    c = client()
    aliases: dict[str, list[str]] = {}
    try:
        for a, v in c.get_registered_model(model_name).aliases.items():
            aliases.setdefault(str(v), []).append(a)
    except Exception:
        return []
    out = []
    for mv in sorted(c.search_model_versions(f"name='{model_name}'"), key=lambda v: int(v.version)):
        out.append({"version": str(mv.version), "aliases": aliases.get(str(mv.version), []), **mv.tags,
                    "run_id": mv.run_id})
    return out


@dataclass
class Decision:
    promote: bool
    reason: str
    challenger: dict
    champion: dict | None


def decide(challenger: dict, champion: dict | None, baseline_pr_auc: float | None = None) -> Decision:
    """The promotion rule on two metric dicts measured on the same holdout (see module docstring)."""
    if champion is None:
        if baseline_pr_auc is not None and not challenger[PRIMARY] > baseline_pr_auc:
            return Decision(False, f"no champion, and the challenger's PR-AUC {challenger[PRIMARY]:.4f} does not "
                                   f"beat the rule baseline's {baseline_pr_auc:.4f}", challenger, None)
        return Decision(True, "no champion yet", challenger, None)
    gain = challenger[PRIMARY] - champion[PRIMARY]
    brier_worse = challenger["brier"] - champion["brier"]
    if gain >= MARGIN and brier_worse <= BRIER_TOLERANCE:
        return Decision(True, f"PR-AUC +{gain:.4f} (>= {MARGIN}), Brier {brier_worse:+.4f} (<= {BRIER_TOLERANCE})",
                        challenger, champion)
    return Decision(False, f"PR-AUC {gain:+.4f} (needs >= {MARGIN}), Brier {brier_worse:+.4f} "
                           f"(needs <= {BRIER_TOLERANCE})", challenger, champion)
