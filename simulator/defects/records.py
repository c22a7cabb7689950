"""``ground_truth/defects.csv``: one row per planted defect (see :mod:`simulator.defects`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from simulator.defects.catalogue import CATALOGUE

DEFECTS_CSV = "defects.csv"
DEFECT_COLUMNS = ("submission_id", "institution_code", "period", "dataset", "file", "line", "record", "kind",
                  "expected_outcome", "expected_rule", "detail")


@dataclass
class Sub:
    """A written submission: its folder and its manifest."""

    path: Path
    manifest: dict


def record(sub: Sub, kind: str, dataset: str = "", file: str = "", row: int | None = None,
            rule: str = "", detail: str = "") -> dict:
    m = sub.manifest
    k = CATALOGUE[kind]
    rule = "" if rule in ("-", None) else rule
    return {"submission_id": m["submission_id"], "institution_code": m["institution_code"], "period": m["period"],
            "dataset": dataset, "file": file, "line": "" if row is None else row + 2,
            "record": "" if row is None else row + 1, "kind": kind, "expected_outcome": k.outcome,
            "expected_rule": rule, "detail": detail}



def write_defects(ground_truth_dir: Path, defects: pd.DataFrame, *, append: bool = False) -> Path:
    """Write (or extend) ``ground_truth/defects.csv``, sorted by submission, file and line."""
    gt = Path(ground_truth_dir)
    gt.mkdir(parents=True, exist_ok=True)
    path = gt / DEFECTS_CSV
    frame = defects
    if append and path.exists():
        old = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame = pd.concat([old, defects.astype(str)], ignore_index=True)
    frame = frame.astype(str).replace({"nan": "", "None": ""})
    frame = frame.sort_values(["period", "submission_id", "file", "kind"], kind="stable")[list(DEFECT_COLUMNS)]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    os.replace(tmp, path)
    return path


def read_defects(ground_truth_dir: Path) -> pd.DataFrame:
    return pd.read_csv(Path(ground_truth_dir) / DEFECTS_CSV, dtype=str, keep_default_na=False)
