"""Where the institution panel's events come from, per split (the diagnosis behind bench/README
"Early-warning models", 7 Dec inst8).

For the world in $SUPERVISION_HOME (warehouse up, ``institution_quarter_training`` built): the default split
the ``score_risk`` DAG uses, and per split the labelled rows, events, prevalence, the rule baseline
(``breach_count``) of events vs non-events, how many of the four look-ahead quarters are observed, and the
cause of every event row, read from the simulator's ground truth (bench may; the product never does):
``false_alarm`` (a planted rating 5 "for governance failings no indicator shows"), ``deteriorating`` /
``recovering`` (a planted health path), ``history_distress`` / ``history_dip`` (an episode of the prudential
history, simulator.history, with its trough within a year of the event), ``takeover``, or ``noise`` (a
rating of 5+ drawn from the rating's noise)::

    SUPERVISION_HOME=/tmp/x PYTHONPATH=<checkout> python bench/ml/inst_events.py [--out res.json]
"""

from __future__ import annotations

import argparse
import sys

from bench.ml.results import save


def _cause(code: str, event_q, truth) -> str:
    import pandas as pd

    ev = truth[truth["institution_code"] == code]
    at = ev[ev["quarter"] == event_q]["event"].tolist()
    if "false_alarm_rating" in at:
        return "false_alarm"
    if "takeover" in at:
        return "takeover"
    # a prudential-history episode (simulator.history) whose trough is within a year of the event
    near = ev[(ev["quarter"] - event_q).abs() <= pd.Timedelta(days=370)]["event"].tolist()
    for kind in ("history_distress", "history_dip"):
        if kind in near:
            return kind
    kinds = set(ev["event"])
    if "deterioration_onset" in kinds:
        return "deteriorating"
    if "recovery_dip" in kinds:
        return "recovering"
    return "noise"


def diagnose() -> dict:
    import pandas as pd
    import sqlalchemy as sa

    from include.config import paths
    from include.warehouse.connection import role_url
    from ml.dag_tasks import PRESET_CONFIG
    from ml.presets import PRESETS

    p = PRESETS["institution"]
    with sa.create_engine(role_url("scorer")).connect() as c:
        df = pd.read_sql(sa.text(f"select institution_code, period, breach_count, label_high_risk_4q as label, "
                                 f"quarters_observed, first_event_period from {p.source}"), c)
    truth = pd.read_csv(paths().home / "ground_truth" / "institution_events.csv")
    df["period"] = pd.to_datetime(df["period"])
    truth["quarter"] = pd.to_datetime(truth["quarter"])
    lab = df[df["label"].notna()]
    split = PRESET_CONFIG.plan.resolve(sorted(lab["period"].unique()))
    out = {"split": split.describe(), "splits": {}}
    for name, periods in (("fit", split.fit), ("calibrate", split.calibrate), ("holdout", split.test)):
        rows = lab[lab["period"].isin(periods)]
        pos, neg = rows[rows["label"] == 1], rows[rows["label"] == 0]
        causes: dict[str, int] = {}
        for r in pos.itertuples(index=False):
            k = _cause(r.institution_code, pd.Timestamp(r.first_event_period), truth)
            causes[k] = causes.get(k, 0) + 1
        out["splits"][name] = {
            "periods": [str(x.date()) for x in periods], "rows": len(rows), "events": len(pos),
            "prevalence": round(len(pos) / max(len(rows), 1), 4),
            "breach_count_events": round(float(pos["breach_count"].mean()), 2) if len(pos) else None,
            "breach_count_others": round(float(neg["breach_count"].mean()), 2) if len(neg) else None,
            "quarters_observed": sorted(int(x) for x in rows["quarters_observed"].unique()),
            "event_causes": dict(sorted(causes.items())),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    out = diagnose()
    print(f"split: {out['split']}")
    for name, s in out["splits"].items():
        print(f"{name:9s} {s['rows']:4d} rows {s['events']:3d} events (prevalence {s['prevalence']:.3f}); "
              f"breach_count events {s['breach_count_events']} vs others {s['breach_count_others']}; "
              f"quarters observed {s['quarters_observed']}; causes {s['event_causes']}")
    save(out, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
