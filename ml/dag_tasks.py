"""What the ``score_risk`` and ``retrain_models`` DAGs call, free of Airflow imports (tested directly).

Tasks exchange small JSON-safe dicts (versions, metrics, counts; NaN/inf as null), never frames: each
task reloads the panel from the warehouse through the scorer role. Cheap to import (pandas and
scikit-learn are imported inside the functions): the DAG files read ``DEFAULT_PRESETS`` from here while
they are parsed.

A panel that cannot train (too few cases, one class only, too short) is not an error to retry: the
training task returns ``{"skipped": reason}``, the panel's ``ml.model_status`` says "no model: ..." and
the portraits show that instead of a level.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ml.panel import Panel

log = logging.getLogger(__name__)
#: The panels (keys of ``ml.presets.PRESETS``) the DAGs score and retrain, each with its own champion.
DEFAULT_PRESETS = ("institution", "firm", "account")
from ml.candidates import KINDS as CANDIDATES  # noqa: E402  (the candidate list, named once)

#: Negative rows a fit of the DAGs' panels sees at most (``ml.train.sample_fit``): the account panel has ~300k
#: account-months with a few hundred cases on ``small``; every positive is kept, the calibration, validation
#: and holdout rows are all used.
FIT_NEGATIVES = 20_000


def __getattr__(name: str):
    if name == "PRESET_CONFIG":  # built lazily: ml.train imports scikit-learn
        from ml.train import TrainConfig

        # vetted point-in-time marts (see ml.handling); fits on every case and a sample of the negatives
        return TrainConfig(allow_leaky=True, max_fit_negatives=FIT_NEGATIVES)
    raise AttributeError(name)


def panel(preset: str, db_url: str) -> Panel:
    from ml.panel import load
    from ml.presets import PRESETS

    p = PRESETS[preset]
    return load(p.source, p.spec, db_url)


def train_candidate(preset: str, kind: str, db_url: str, loaded: Panel | None = None, result=None,
                    written=None) -> dict:
    """One candidate trained and registered; ``{"skipped": reason, "short": ...}`` if the panel cannot train.
    ``loaded``: the preset's panel already read from ``db_url`` (``score_preset`` reads it once for all steps);
    ``result``: the candidate already evaluated on it (``train_candidates``): only its report and registration
    are left; ``written``: the directory of its report, already written (``evaluate_ahead``)."""
    from ml import workflow
    from ml.dag_tasks import PRESET_CONFIG
    from ml.metrics_json import safe
    from ml.presets import PRESETS

    p = PRESETS[preset]
    if loaded is None:
        loaded = panel(preset, db_url)
    try:
        out = workflow.train_one(loaded, p.model_name, kind, PRESET_CONFIG, result=result, written=written)
    except Exception as e:  # noqa: BLE001 - _skipped re-raises anything but "cannot train"
        return _skipped(p.model_name, kind, e)
    return safe({k: out.get(k) for k in ("model_name", "candidate", "version", "report", "holdout", "backtest",
                                         "lead", "guardrails", "seconds")})


def _skipped(model_name: str, kind: str, e: Exception) -> dict:
    from ml.errors import CannotTrain
    from ml.splits import SplitError

    if isinstance(e, CannotTrain):
        return {"model_name": model_name, "candidate": kind, "skipped": str(e), "short": e.short}
    if isinstance(e, SplitError):  # a panel too short for the split: also nothing to retry
        return {"model_name": model_name, "candidate": kind, "skipped": str(e), "short": "no model: too few cases"}
    raise e


def train_candidates(preset: str, kinds: tuple[str, ...], db_url: str, loaded: Panel) -> list[dict]:
    """``[train_candidate(preset, kind, db_url, loaded) for kind in kinds]``, the same dicts and versions, with
    each candidate's report and registration (figures, permutation importance, MLflow: one thread, mostly
    Python) done in a background thread while the next candidate's fits and bootstrap run in this one (the fits
    in ``ml.train.workers()`` threads), or taken from ``evaluate_ahead`` when ``cold_training_ahead`` ran them
    for this panel in another process on the same rows (the same train key). The reports are registered one
    after the other in ``kinds`` order, so the version numbers are those of the sequential loop; every figure is
    computed by the same code on the same rows (the fits pin their own thread counts:
    ``ml.models.one_thread_each``)."""
    from concurrent.futures import ThreadPoolExecutor

    from ml import registry, workflow
    from ml.dag_tasks import PRESET_CONFIG
    from ml.presets import PRESETS
    from ml.train import evaluate_candidate

    name = PRESETS[preset].model_name
    try:
        prepared = workflow.prepared(loaded, PRESET_CONFIG)
        # asked before MLflow's store opens (an own registration never matches another candidate's train key)
        reused = {k: workflow.reused(prepared, name, k, PRESET_CONFIG) for k in kinds}
    except Exception as e:  # noqa: BLE001 - what train_one would raise for every candidate
        return [_skipped(name, k, e) for k in kinds]
    if not all(reused.values()):
        registry.warm_up()  # MLflow's store opens while the first candidate fits
    ahead = _evaluated_ahead(preset, prepared, [k for k in kinds if not reused[k]])
    out = []
    with ThreadPoolExecutor(1, thread_name_prefix="ml-report") as pool:
        for k in kinds:
            if reused[k]:
                out.append(pool.submit(train_candidate, preset, k, db_url, loaded))
                continue
            res, written = ahead.get(k, (None, None))
            try:
                res = res or evaluate_candidate(prepared, k, PRESET_CONFIG)
            except Exception as e:  # noqa: BLE001
                out.append(_skipped(name, k, e))
                continue
            out.append(pool.submit(train_candidate, preset, k, db_url, loaded, res, written))
        return [o if isinstance(o, dict) else o.result() for o in out]


def choose_and_promote(preset: str, trained: list[dict], db_url: str, loaded: Panel | None = None) -> dict:
    from ml import fastreg, status, workflow
    from ml.presets import PRESETS

    p = PRESETS[preset]
    challenger = workflow.choose_challenger(p.model_name, [t for t in trained if not t.get("skipped")])
    if challenger is None:
        reasons = "; ".join(f"{t['candidate']}: {t['skipped']}" for t in trained if t.get("skipped"))
        short = next((t["short"] for t in trained if t.get("short")), "no model: too few cases")
        if fastreg.alias_version(p.model_name, "champion") is None:
            status.record(db_url, p.entity_type, p.model_name, False, short, reasons or "no candidate trained")
        return {"model_name": p.model_name, "challenger": None, "promoted": False, "short": short,
                "reason": reasons or "no candidate trained"}
    loaded = loaded if loaded is not None else panel(preset, db_url)
    d = workflow.promote(loaded, p.model_name, challenger)
    _, meta = fastreg.meta(p.model_name, challenger)
    g = meta.get("guardrails") or {}
    short = g.get("short", "") if not g.get("passed") else "not promoted"
    if not d.promote and fastreg.alias_version(p.model_name, "champion") is None:
        reason = d.reason
        if short != "no model: too few cases":
            rule = rule_instead(preset, db_url, loaded, d.reason)
            if isinstance(rule, dict):
                return rule
            reason += f"; {rule}" if rule else ""
        status.record(db_url, p.entity_type, p.model_name, False, short or "no model", reason)
    return {"model_name": p.model_name, "challenger": challenger, "promoted": d.promote, "reason": d.reason,
            "short": short}


def rule_instead(preset: str, db_url: str, loaded: Panel, why_not: str) -> dict | str | None:
    """No champion and no learned challenger passed: fit the panel's rule score, calibrated (``models.RULE``), and
    make it the champion if it passes its own guardrails (events enough, better than chance with its interval
    above zero, calibrated). Supervisors then get the rule's warnings, said to be the rule's, instead of none:
    the learned models failed against that very rule. A later retrain's learned challenger must beat it by the
    promotion margin on the same holdout to replace it. When the rule does not pass either: why, in one line
    (None for a panel without a rule)."""
    from ml import workflow
    from ml.models import RULE
    from ml.presets import PRESETS

    p = PRESETS[preset]
    if not p.spec.baseline:
        return None
    rule = train_candidate(preset, RULE, db_url, loaded)
    g = rule.get("guardrails") or {}
    if rule.get("skipped") or not g.get("passed"):
        why = (f"the rule {p.spec.baseline} alone, calibrated, does not pass either: "
               f"{rule.get('skipped') or g.get('failed')}")
        log.info("%s: %s", p.model_name, why)
        return why
    d = workflow.promote(loaded, p.model_name, rule["version"])
    if not d.promote:
        return f"the rule {p.spec.baseline} alone, calibrated, is not promoted: {d.reason}"
    return {"model_name": p.model_name, "challenger": rule["version"], "promoted": True, "short": "rule",
            "reason": f"the calibrated rule {p.spec.baseline} (v{rule['version']}) scores: no learned model passed "
                      f"({why_not})"}


def has_champion(preset: str) -> bool:
    from ml import fastreg
    from ml.presets import PRESETS

    return fastreg.alias_version(PRESETS[preset].model_name, "champion") is not None


def score_preset(preset: str, db_url: str, run_id: str | None = None) -> dict:
    """Score the preset's latest period with its champion. Without a champion (a fresh installation)
    train the candidates and apply the guardrails and the promotion rule first. When the panel cannot
    train a model (too few cases, e.g. the `tiny` preset) or no candidate passes the guardrails, nothing
    is scored, ``ml.model_status`` says why and ``{"scored": False, "reason": ...}`` is returned."""
    from ml import scoring, status
    from ml.levels import LevelConfig
    from ml.metrics_json import safe
    from ml.presets import PRESETS

    p = PRESETS[preset]
    # read once: training, promotion and scoring all use the same rows (those read ahead, if they were)
    loaded = _read_ahead(preset) or panel(preset, db_url)
    if not has_champion(preset):
        log.info("%s has no champion yet: training the candidates and applying the guardrails", p.model_name)
        trained = train_candidates(preset, CANDIDATES, db_url, loaded)
        decision = choose_and_promote(preset, trained, db_url, loaded)
        if not decision["promoted"]:
            log.info("%s: %s; nothing scored", p.model_name, decision["reason"])
            return {"scored": False, "reason": status.explain(decision["short"], decision["reason"])}
    out = scoring.score(loaded, p.model_name, p.entity_type, db_url, LevelConfig.parse(),
                        p.texts, run_id=run_id, units=p.units)
    return safe({"scored": True, **out})


#: ``preset -> Future`` of ``evaluate_ahead`` while ``cold_training_ahead`` is open (this process only).
_AHEAD: dict = {}


@contextmanager
def cold_training_ahead(presets: tuple[str, ...], db_url: str):
    """While the block runs, the candidates of every panel in ``presets`` without a champion are evaluated in
    processes of their own, all at once (``evaluate_ahead``: the panel read, its fits, bootstrap and guardrail
    figures, the candidates' reports); ``score_preset`` of such a panel then takes the rows read there and those
    results instead of reading and evaluating them itself, and only its registrations, promotion and scoring are
    left.

    For ``supervision run|demo``: ``dag.test()`` runs the ``score_<preset>`` tasks one after the other in one
    process, so without this the panels' fits never overlap another panel's reports or scoring (under a real
    scheduler each task is a process of its own and this is not used). The results are the same: the same code
    on the same rows (a result is used only when its train key, i.e. the rows' fingerprint, the configuration and
    the candidate, is the one the task computes on the rows it works on; the marts are not written while
    ``score_risk`` scores, the serving marts are rebuilt after every panel), the fits pinned to one thread each
    (``ml.models.one_thread_each``), the bootstrap seeded. Anything that goes wrong in a process (a panel that
    cannot train, a crash) is left to the task, which evaluates that candidate itself as before. Nothing is
    started for fewer than two panels without a champion (nothing to overlap)."""
    todo = [p for p in presets if not has_champion(p)]
    if len(todo) < 2:
        yield
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn: this process runs threads (log routing, MLflow warm-up), which a fork would copy mid-lock
    pool = ProcessPoolExecutor(len(todo), mp_context=multiprocessing.get_context("spawn"))
    from ml.presets import PRESETS

    try:
        try:
            for p in todo:
                _AHEAD[p] = pool.submit(evaluate_ahead, PRESETS[p].source, PRESETS[p].spec, PRESETS[p].model_name,
                                        db_url, CANDIDATES)
        except Exception as e:  # noqa: BLE001 - no process could start: the tasks do the work, as before
            log.info("candidates not evaluated ahead (%s): each task evaluates its own", e)
            for p in todo:
                _AHEAD.pop(p, None)
        yield
    finally:
        for p in todo:
            _AHEAD.pop(p, None)
        pool.shutdown(wait=True, cancel_futures=True)


def evaluate_ahead(source: str, spec, model_name: str, db_url: str, kinds: tuple[str, ...]
                   ) -> tuple[dict, list, Panel | None]:
    """In a process of its own (``cold_training_ahead``): ``{kind: (train key, ml.train.Result, report directory
    or None)}`` for each candidate that evaluates without error on the panel ``source`` / ``spec`` (a preset's, as
    ``panel`` reads it), with its report written as ``train_candidate`` writes it (``ml.workflow.write_report``);
    and the log records of the work, which the task logs as its own when it takes the results; and the panel as
    read (``score_preset`` takes it instead of reading it again)."""
    records: list = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append((record.name, record.levelno, record.getMessage()))

    root = logging.getLogger()
    root.handlers[:] = [Keep()]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)  # library warnings become records too, logged by the task
    out: dict = {}
    read = None
    try:
        from ml import workflow
        from ml.dag_tasks import PRESET_CONFIG
        from ml.panel import Panel, load
        from ml.train import evaluate_candidate

        loaded = load(source, spec, db_url)
        read = Panel(loaded.frame, loaded.spec, loaded.source, dict(loaded.handling))  # without its caches
        prepared = workflow.prepared(loaded, PRESET_CONFIG)
        for k in kinds:
            try:
                key = workflow.train_key(prepared, PRESET_CONFIG, k)
                res = evaluate_candidate(prepared, k, PRESET_CONFIG)
            except Exception:  # noqa: BLE001, S112 - the task evaluates it itself and reports it as it always did
                continue
            try:
                written = workflow.write_report(prepared, model_name, k, PRESET_CONFIG, res)
            except Exception:  # noqa: BLE001 - the task writes it
                written = None
            out[k] = (key, res, written)
    except Exception:  # noqa: BLE001 - the same: the task does the work
        pass
    return out, records, read


def _read_ahead(preset: str) -> Panel | None:
    """The panel ``evaluate_ahead`` read for ``preset`` (waiting for it), or None (not evaluated ahead, or failed)."""
    fut = _AHEAD.get(preset)
    try:
        return fut.result()[2] if fut is not None else None
    except Exception:  # noqa: BLE001 - _evaluated_ahead says so; the task reads the panel itself
        return None


def _evaluated_ahead(preset: str, prepared: Panel, kinds: list[str]) -> dict:
    """``{kind: (result, report directory or None)}`` of ``evaluate_ahead`` for ``kinds`` whose train key is the one
    on ``prepared`` (the rows this task read), with its log records logged here; {} when nothing was evaluated
    ahead (or it failed). The reports of results not taken are removed (never registered)."""
    fut = _AHEAD.pop(preset, None)
    if fut is None or not kinds:
        return {}
    from ml import workflow
    from ml.dag_tasks import PRESET_CONFIG

    try:
        done, records, _ = fut.result()
    except Exception as e:  # noqa: BLE001 - a crashed process: the task evaluates the candidates itself
        log.info("%s: the candidates evaluated ahead are not available (%s); evaluating them here", preset, e)
        return {}
    same = {k: (res, written) for k, (key, res, written) in done.items()
            if k in kinds and key == workflow.train_key(prepared, PRESET_CONFIG, k)}
    for k, (_, _, written) in done.items():
        if k not in same and written is not None:
            import shutil

            shutil.rmtree(written, ignore_errors=True)
    if same:
        for name, level, msg in records:
            logging.getLogger(name).log(level, "%s", msg)
    return same
