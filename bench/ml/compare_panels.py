"""Compare a model panel of two installations (or two builds) of the same world, bit for bit.

    SUPERVISION_HOME=/tmp/a PYTHONPATH=<checkout> python bench/ml/compare_panels.py dump firm /tmp/a-firm.parquet
    SUPERVISION_HOME=/tmp/b PYTHONPATH=<checkout> python bench/ml/compare_panels.py dump firm /tmp/b-firm.parquet
    PYTHONPATH=<checkout> python bench/ml/compare_panels.py compare firm /tmp/a-firm.parquet /tmp/b-firm.parquet

``dump`` reads the preset's warehouse table as ``score_risk`` reads it (``ml.panel.read_source``: the raw frame
before any check) into a Parquet file (float64 kept exactly; the file holds data: 0600). ``compare`` matches
the rows by (entity, period) and prints, per column that differs, how many rows differ, the largest relative
difference and a few examples. Exit 0 when identical, 1 when not, 2 on a bad argument.
"""

from __future__ import annotations

import argparse
import os
import sys


def dump(preset: str, out: str) -> int:
    from include.warehouse.connection import role_url
    from ml.panel import read_source
    from ml.presets import PRESETS

    raw, _ = read_source(PRESETS[preset].source, role_url("scorer"))
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        raw.to_parquet(f)
    print(f"{preset}: {len(raw)} rows -> {out}")
    return 0


def compare(preset: str, a_path: str, b_path: str) -> int:
    import numpy as np
    import pandas as pd

    from ml.presets import PRESETS

    s = PRESETS[preset].spec
    a, b = (pd.read_parquet(p).set_index([s.entity, s.period]).sort_index() for p in (a_path, b_path))
    if not a.index.equals(b.index):
        print(f"rows differ: {len(a)} vs {len(b)}; only in the first {len(a.index.difference(b.index))}, "
              f"only in the second {len(b.index.difference(a.index))}")
        return 1
    differ = 0
    for c in a.columns:
        x, y = a[c].to_numpy(), b[c].to_numpy()
        if x.dtype.kind == "f" and y.dtype.kind == "f":
            bad = ~((x == y) | (np.isnan(x) & np.isnan(y)))
        else:
            bad = ~((a[c] == b[c]) | (a[c].isna() & b[c].isna())).to_numpy()
        if not bad.any():
            continue
        differ += 1
        rel = ""
        if x.dtype.kind == "f" and y.dtype.kind == "f":
            d = np.abs(x[bad] - y[bad]) / np.maximum(np.maximum(np.abs(x[bad]), np.abs(y[bad])), np.finfo(float).tiny)
            rel = f", largest relative difference {np.nanmax(d):.3g}"
        where = a.index[bad][:3].tolist()
        print(f"{c}: {int(bad.sum())} rows differ{rel}; e.g. {where}: {x[bad][:3].tolist()} vs {y[bad][:3].tolist()}")
    print(f"{len(a)} rows, {len(a.columns)} columns: " + ("identical bit for bit" if not differ
                                                          else f"{differ} columns differ"))
    return 1 if differ else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("preset", choices=("institution", "firm", "account"))
    d.add_argument("out")
    c = sub.add_parser("compare")
    c.add_argument("preset", choices=("institution", "firm", "account"))
    c.add_argument("a")
    c.add_argument("b")
    args = ap.parse_args(argv)
    if args.cmd == "dump":
        return dump(args.preset, args.out)
    for p in (args.a, args.b):
        if not os.path.exists(p):
            print(f"{p}: file not found", file=sys.stderr)
            return 2
    return compare(args.preset, args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())
