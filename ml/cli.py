"""Command line for risk teams: ``python -m ml --help`` (mounted as ``supervision ml``).

    train     train the candidates (logreg, gbm) on a panel with an explicit or default split, compare them on
              validation folds inside the training periods, judge each once on the out-of-time holdout against
              the rule baseline and chance (bootstrap intervals, guardrails), write a report, register them
    evaluate  re-evaluate a registered version on its out-of-time holdout of a panel
    compare   a table of registered versions judged on the same holdout (refuses to mix holdouts)
    promote   promote the challenger (or a version) if it passes the guardrails and beats the champion
    score     score the latest period of a panel with the champion into ml.risk_scores (+ drift)
    report    where a version's report is (HTML and Markdown)
    ui        the MLflow UI on this project's registry (127.0.0.1; its own virtualenv, see README)

A panel is ``--data institution`` or ``--data firm`` (the warehouse's panels, ``ml/presets.py``) or
any CSV / Parquet file or ``schema.table`` with ``--entity --period --label --features`` naming its columns.
A published split is reproduced with ``--train-until``, ``--calibrate`` and ``--holdout-from/--holdout-until``:

    python -m ml train --data banks.csv --entity bank --period quarter --label failed_next_4q \\
        --features car,npl,roa --baseline camels --name bank_failure \\
        --train-until 2010Q3 --calibrate cv --holdout-from 2010Q4 --holdout-until 2012Q4

Every error is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import sys

from ml.candidates import KINDS
from ml.errors import MLError
from ml.presets import PRESETS
from ml.spec import PanelError, PanelSpec

log = logging.getLogger("ml")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints the whole usage otherwise)
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(2)


def _csv(text: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip()) if text else ()


def resolve(args: argparse.Namespace):
    """(panel, model_name, preset or None) from --data and the column options."""
    from ml.panel import load, read_source

    preset = PRESETS.get(args.data)
    if preset:
        return load(preset.source, preset.spec, args.db_url), args.name or preset.model_name, preset
    need = [o for o in ("entity", "period", "label", "features") if not getattr(args, o)]
    if need:
        raise PanelError(f"{args.data}: name the panel's columns with --{' --'.join(need)} "
                         f"(or use a preset: {', '.join(PRESETS)})")
    if not args.name:
        raise PanelError("--name (the registered model's name) is required for a custom panel")
    features = _csv(args.features)
    if features == ("all",):
        frame, _ = read_source(args.data, args.db_url)
        skip = {args.entity, args.period, args.label, args.baseline, *_csv(args.extra)}
        features = tuple(c for c in frame.columns if c not in skip)
    spec = PanelSpec(args.entity, args.period, args.label, features, args.baseline or None, _csv(args.extra))
    return load(args.data, spec, args.db_url), args.name, None


def _cfg(args):
    from ml.dag_tasks import FIT_NEGATIVES
    from ml.train import TrainConfig

    preset = args.data in PRESETS  # vetted point-in-time marts: a near-perfect feature is allowed, named
    return TrainConfig(holdout_periods=args.holdout_periods, embargo=args.embargo, calibrate=args.calibrate,
                       train_until=args.train_until, holdout_from=args.holdout_from,
                       holdout_until=args.holdout_until, nan_policy=args.nan_policy, derive=args.derive,
                       allow_leaky=args.allow_leaky or preset, seasonal=args.seasonal,
                       max_fit_negatives=FIT_NEGATIVES if preset else None)  # as the DAGs train them


def _levels(text):
    from ml.levels import LevelConfig

    try:
        return LevelConfig.parse(text)
    except ValueError as e:
        raise MLError(f"--cutoffs: {e}") from None


def cmd_train(args) -> dict:
    from ml import workflow

    panel, name, _ = resolve(args)
    out = workflow.train(panel, name, _csv(args.candidates), _cfg(args), _levels(args.cutoffs),
                         register=not args.no_register)
    sys.stderr.write("split: " + "; ".join(f"{k} {v}" for k, v in out["split"].items()) + "\n")
    if args.promote and out["challenger"]:
        d = workflow.promote(panel, name, out["challenger"])
        out["promotion"] = {"promoted": d.promote, "reason": d.reason}
    return out


def cmd_evaluate(args) -> dict:
    import pandas as pd

    from ml import metrics, registry, scoring

    panel, name, _ = resolve(args)
    model, version = registry.load(name, args.ref)
    panel = scoring.as_trained(panel, model)
    rows = panel.rows([pd.Timestamp(p) for p in model.meta["holdout_periods"]])
    return {"model_name": name, "version": version, "holdout_periods": model.meta["holdout_periods"],
            "metrics": metrics.evaluate(rows[panel.spec.label], model.predict_proba(rows))}


def _model_name(args) -> str:
    return args.name or PRESETS[args.data or "institution"].model_name


def cmd_compare(args):
    from ml import compare

    return compare.table(_model_name(args), args.holdout, args.json)


def cmd_promote(args) -> dict:
    from ml import promotion

    if args.data:
        panel, name, _ = resolve(args)
    else:
        panel, name = None, _model_name(args)
    d = promotion.promote(panel, name, args.version)
    return {"promoted": d.promote, "reason": d.reason, "challenger": d.challenger, "champion": d.champion}


def cmd_score(args) -> dict:
    from include.warehouse.connection import role_url
    from ml import scoring

    panel, name, preset = resolve(args)
    etype = args.entity_type or (preset.entity_type if preset else None)
    if not etype:
        raise PanelError("--entity-type (institution or firm) is required to score a custom panel")
    return scoring.score(panel, name, etype, args.db_url or role_url("scorer"), _levels(args.cutoffs),
                         preset.texts if preset else {}, args.score_period, args.ref,
                         units=preset.units if preset else None)


def cmd_report(args) -> dict:
    from ml import fastreg

    v = fastreg.find(_model_name(args), args.ref)
    md = v.get("report", "")
    return {"version": v["version"], "aliases": v["aliases"], "report": md,
            "html": md[: -len(".md")] + ".html" if md.endswith(".md") else None}


def cmd_ui(args) -> int:
    from ml import ui

    return ui.run(args.port, args.print_command)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m ml", description="Early-warning models: train, evaluate, compare, promote, score, "
                "report, ui.", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 2)[2])
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def add(name, func, help_, panel=True, data_required=True):
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(func=func)
        sp.add_argument("--name", help="registered model name (default: the preset's)")
        if panel:
            sp.add_argument("--data", required=data_required, help=f"{' | '.join(PRESETS)} | file.csv | file.parquet "
                                                                   "| schema.table")
            sp.add_argument("--entity", help="entity id column")
            sp.add_argument("--period", help="period column: YYYYQn, YYYY-MM or a date")
            sp.add_argument("--label", help="0/1 label column (empty = not yet known)")
            sp.add_argument("--features", help="comma-separated feature columns, or `all`")
            sp.add_argument("--baseline", help="rule score column to compare against (e.g. a breach count)")
            sp.add_argument("--extra", help="columns carried for rule overrides (e.g. car_below_minimum)")
            sp.add_argument("--entity-type", help="institution | firm (scoring a custom panel)")
            sp.add_argument("--db-url", help="SQLAlchemy URL for schema.table (default: the scorer role)")
        else:
            sp.add_argument("--data", choices=list(PRESETS), help="a preset, for its model name")
        return sp

    t = add("train", cmd_train, "train, evaluate, report and register the candidates")
    t.add_argument("--candidates", default=",".join(KINDS))
    t.add_argument("--train-until", help="last training period (YYYYQn, YYYY-MM or date)")
    t.add_argument("--calibrate", default="1", help="calibration: the latest N training periods (default 1), "
                   "a range FROM:UNTIL at the end of training, or cv (cross-fitted inside the training periods)")
    t.add_argument("--holdout-from", help="first holdout period (default: the first after training + embargo)")
    t.add_argument("--holdout-until", help="last holdout period (default: the latest labelled)")
    t.add_argument("--holdout-periods", type=int, help="without explicit periods: the latest N labelled periods "
                   "held out (default: about a quarter)")
    t.add_argument("--embargo", type=int, default=0, help="periods dropped between training and holdout")
    t.add_argument("--nan-policy", help="median (default) or zero, then per feature: zero,ratio=median")
    t.add_argument("--derive", help="panel-derived features per entity: lag1,diff1,diff4,trend4")
    t.add_argument("--seasonal", help="year-to-date features: drift against the same quarter a year earlier")
    t.add_argument("--allow-leaky", action="store_true", help="accept a single feature that predicts the label "
                   "almost perfectly")
    t.add_argument("--cutoffs", help="warning cut-offs, e.g. red=0.5,orange=0.25,yellow=0.1,blue=0.03")
    t.add_argument("--no-register", action="store_true", help="evaluate and report only")
    t.add_argument("--promote", action="store_true", help="apply the guardrails and promotion rule to the challenger")
    e = add("evaluate", cmd_evaluate, "evaluate a registered version on its out-of-time holdout")
    e.add_argument("--ref", default="champion", help="alias or version")
    c = add("compare", cmd_compare, "registered versions judged on the same holdout, with the rule baseline",
            panel=False)
    c.add_argument("--holdout", help="the holdout to show, e.g. 2021-09-30..2021-11-30 (default: the champion's, "
                   "else the latest version's)")
    c.add_argument("--json", action="store_true", help="JSON (numbers as numbers) instead of a table")
    pr = add("promote", cmd_promote, "promote the challenger if it passes the guardrails and beats the champion",
             data_required=False)
    pr.add_argument("--version", help="version to consider (default: the challenger)")
    s = add("score", cmd_score, "score the latest period with the champion into ml.risk_scores")
    s.add_argument("--ref", default="champion")
    s.add_argument("--score-period", dest="score_period", help="period to score (default: the latest)")
    s.add_argument("--cutoffs")
    r = add("report", cmd_report, "where a version's report is (HTML and Markdown)", panel=False)
    r.add_argument("--ref", default="champion")
    u = sub.add_parser("ui", help="the MLflow UI on this project's registry",
                       description="the MLflow UI on this project's registry, on 127.0.0.1 (first run installs "
                                   "mlflow into its own virtualenv under ~/.cache/supervision)")
    u.set_defaults(func=cmd_ui)
    u.add_argument("--port", type=int, default=5000)
    u.add_argument("--print-command", action="store_true", help="print the server command instead of running it")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "mlflow", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        out = args.func(args)
    except MLError as e:
        sys.stderr.write(f"error: {e}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 2
    except Exception as e:  # noqa: BLE001 - never a traceback for a user; -v shows it
        if args.verbose:
            log.exception("unexpected error")
        first = (str(e).strip().splitlines() or [""])[0]
        sys.stderr.write(f"error: {type(e).__name__}: {first} (rerun with -v for details)\n")
        return 2
    if isinstance(out, int):
        return out
    if isinstance(out, str):
        sys.stdout.write(out if out.endswith("\n") else out + "\n")
        return 0
    from ml.metrics_json import dumps

    sys.stdout.write(dumps(out) + "\n")
    return 0
