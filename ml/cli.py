"""Command line for risk teams: ``python -m ml --help``.

    train     train the candidates (logreg, gbm) on a panel, evaluate them out of time against the rule
              baseline, write a report per candidate, register every one, point `challenger` at the best
    evaluate  re-evaluate a registered version on its out-of-time holdout of a panel
    compare   list the registered versions with their holdout metrics and aliases
    promote   promote the challenger (or a version) to champion if it beats the champion (see ml.registry)
    score     score the latest period of a panel with the champion into ml.risk_scores (+ drift)
    report    print where a version's report is

A panel is ``--data institution`` or ``--data firm`` (the warehouse's panels, ``ml/presets.py``) or
any CSV / Parquet file or ``schema.table`` with ``--entity --period --label --features`` naming its columns, e.g.

    python -m ml train --data loans.csv --entity borrower --period month --label defaulted \\
        --features dti,utilisation,arrears --name loan_default
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from ml.candidates import KINDS
from ml.levels import LevelConfig
from ml.panel import PanelError, PanelSpec, load, read_source
from ml.presets import PRESETS
from ml.train import TrainConfig

log = logging.getLogger("ml")


def _csv(text: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip()) if text else ()


def resolve(args: argparse.Namespace):
    """(panel, model_name, entity_type, reason texts) from --data and the column options."""
    preset = PRESETS.get(args.data)
    if preset:
        source, spec = preset.source, preset.spec
        name, etype, texts = args.name or preset.model_name, preset.entity_type, preset.texts
    else:
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
        source, name, etype, texts = args.data, args.name, args.entity_type, {}
    return load(source, spec, args.db_url), name, etype, texts


def _cfg(args) -> TrainConfig:
    return TrainConfig(holdout_periods=args.holdout_periods, embargo=args.embargo)


def cmd_train(args) -> dict:
    from ml import workflow

    panel, name, _, _ = resolve(args)
    out = workflow.train(panel, name, _csv(args.candidates), _cfg(args), LevelConfig.parse(args.cutoffs),
                         register=not args.no_register)
    if args.promote and out["challenger"]:
        d = workflow.promote(panel, name, out["challenger"])
        out["promotion"] = {"promoted": d.promote, "reason": d.reason}
    return out


def cmd_evaluate(args) -> dict:
    from ml import metrics, registry

    panel, name, _, _ = resolve(args)
    model, version = registry.load(name, args.ref)
    import pandas as pd

    rows = panel.rows([pd.Timestamp(p) for p in model.meta["holdout_periods"]])
    return {"model_name": name, "version": version, "holdout_periods": model.meta["holdout_periods"],
            "metrics": metrics.evaluate(rows[panel.spec.label], model.predict_proba(rows))}


def cmd_compare(args) -> list[dict]:
    from ml import registry

    return registry.versions(args.name or PRESETS["institution"].model_name)


def cmd_promote(args) -> dict:
    from ml import workflow

    panel, name, _, _ = resolve(args)
    d = workflow.promote(panel, name, args.version)
    return {"promoted": d.promote, "reason": d.reason, "challenger": d.challenger, "champion": d.champion}


def cmd_score(args) -> dict:
    from include.warehouse.connection import role_url
    from ml import scoring

    panel, name, etype, texts = resolve(args)
    if not etype:
        raise PanelError("--entity-type (institution or firm) is required to score a custom panel")
    return scoring.score(panel, name, etype, args.db_url or role_url("scorer"), LevelConfig.parse(args.cutoffs),
                         texts, args.score_period, args.ref)


def cmd_report(args) -> dict:
    from ml import registry

    vs = registry.versions(args.name)
    want = [v for v in vs if v["version"] == args.ref or args.ref in v["aliases"]]
    if not want:
        raise SystemExit(f"{args.name}: no version or alias {args.ref!r}")
    return {"version": want[0]["version"], "report": want[0].get("report"), "aliases": want[0]["aliases"]}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ml", description="Early-warning models: train, evaluate, compare, "
                                "promote, score, report.", formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 2)[2])
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, func, help_, panel=True):
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(func=func)
        sp.add_argument("--name", help="registered model name (default: the preset's)")
        if panel:
            sp.add_argument("--data", required=True, help=f"{' | '.join(PRESETS)} | file.csv | file.parquet | "
                                                          "schema.table")
            sp.add_argument("--entity", help="entity id column")
            sp.add_argument("--period", help="period column (a date)")
            sp.add_argument("--label", help="0/1 label column (empty = not yet known)")
            sp.add_argument("--features", help="comma-separated feature columns, or `all`")
            sp.add_argument("--baseline", help="rule score column to compare against (e.g. a breach count)")
            sp.add_argument("--extra", help="columns carried for rule overrides (e.g. car_below_minimum)")
            sp.add_argument("--entity-type", help="institution | firm (scoring a custom panel)")
            sp.add_argument("--db-url", help="SQLAlchemy URL for schema.table (default: the scorer role)")
        return sp

    t = add("train", cmd_train, "train, evaluate, report and register the candidates")
    t.add_argument("--candidates", default=",".join(KINDS))
    t.add_argument("--holdout-periods", type=int, help="latest labelled periods held out (default ~1/4)")
    t.add_argument("--embargo", type=int, default=0, help="periods dropped between training and test")
    t.add_argument("--cutoffs", help="warning cut-offs, e.g. red=0.5,orange=0.25,yellow=0.1,blue=0.03")
    t.add_argument("--no-register", action="store_true", help="evaluate and report only")
    t.add_argument("--promote", action="store_true", help="apply the promotion rule to the new challenger")
    e = add("evaluate", cmd_evaluate, "evaluate a registered version on its out-of-time holdout")
    e.add_argument("--ref", default="champion", help="alias or version")
    add("compare", cmd_compare, "registered versions, their holdout metrics and aliases", panel=False)
    pr = add("promote", cmd_promote, "promote the challenger if it beats the champion on the same holdout")
    pr.add_argument("--version", help="version to consider (default: the challenger)")
    s = add("score", cmd_score, "score the latest period with the champion into ml.risk_scores")
    s.add_argument("--ref", default="champion")
    s.add_argument("--score-period", dest="score_period", help="period to score (default: the latest)")
    s.add_argument("--cutoffs")
    r = add("report", cmd_report, "where a version's report is", panel=False)
    r.add_argument("--ref", default="champion")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "mlflow", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        out = args.func(args)
    except PanelError as e:
        log.error("%s", e)
        return 2
    sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False, default=str) + "\n")
    return 0
