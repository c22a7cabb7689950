"""Right-censored labels per split of the firm and account panels (bench/README "Early-warning models",
7 Dec censor8).

For the world in $SUPERVISION_HOME (warehouse up, the training marts built): the default split the
``score_risk`` DAG uses on the panel's labelled periods, and per split (fit / calibration / holdout) the
labelled rows, how many of them have ``months_observed`` below the label window (right-censored: a case
after the last observed month is not known yet), and the prevalence of the complete and of the censored
rows. On a build before the censoring rule the censored rows carry a label; after it they carry none
(``censored`` 0)::

    SUPERVISION_HOME=/tmp/x PYTHONPATH=<checkout> python bench/ml/censored_splits.py [--out res.json]
"""

from __future__ import annotations

import argparse
import sys

from bench.ml.results import save

WINDOW = 6  # dbt macro label_window_months()


def _prevalence(rows) -> dict:
    pos = int((rows["label"] == 1).sum())
    return {"rows": len(rows), "events": pos, "prevalence": round(pos / len(rows), 4) if len(rows) else None}


def diagnose(panels: list[str]) -> dict:
    import pandas as pd
    import sqlalchemy as sa

    from include.warehouse.connection import role_url
    from ml.dag_tasks import PRESET_CONFIG
    from ml.presets import PRESETS

    out: dict = {}
    with sa.create_engine(role_url("scorer")).connect() as c:
        for name in panels:
            p = PRESETS[name]
            df = pd.read_sql(sa.text(f"select period, {p.spec.label} as label, months_observed from {p.source}"), c)
            df["period"] = pd.to_datetime(df["period"])
            lab = df[df["label"].notna()]
            split = PRESET_CONFIG.plan.resolve(sorted(lab["period"].unique()))
            res = {"split": split.describe(), "rows": len(df), "labelled": len(lab),
                   "unlabelled_censored": int(((df["months_observed"] < WINDOW) & df["label"].isna()).sum()),
                   "splits": {}}
            for part, periods in (("fit", split.fit), ("calibrate", split.calibrate), ("holdout", split.test)):
                rows = lab[lab["period"].isin(periods)]
                cens = rows["months_observed"] < WINDOW
                res["splits"][part] = {
                    "periods": f"{min(periods).date()}..{max(periods).date()} ({len(periods)})" if periods else "",
                    **_prevalence(rows), "censored_rows": int(cens.sum()),
                    "months_observed": sorted(int(x) for x in rows["months_observed"].unique()),
                    "complete": _prevalence(rows[~cens]), "censored": _prevalence(rows[cens]),
                }
            out[name] = res
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--panels", default="firm,account")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    out = diagnose([x for x in args.panels.split(",") if x])
    for name, res in out.items():
        print(f"{name}: {res['labelled']} labelled of {res['rows']} rows; split {res['split']}")
        for part, s in res["splits"].items():
            print(f"  {part:9s} {s['periods']:28s} {s['rows']:7d} rows {s['events']:5d} events "
                  f"(prevalence {s['prevalence']}); censored {s['censored_rows']} rows "
                  f"(prevalence {s['censored']['prevalence']}) vs complete {s['complete']['rows']} "
                  f"(prevalence {s['complete']['prevalence']}); months observed {s['months_observed']}")
    save(out, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
