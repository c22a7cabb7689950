"""The simulator's answers, written next to (never inside) the landing zone.

``ground_truth.json``: run parameters, the institution list with what was planted, institution events
(deterioration onset, recovery, high-risk designation, takeover, false-alarm ratings), every scheme
(firm, collection and controller accounts, months, investors, collapse), guarantee circles and chains,
counts of hard negatives, and every capital ratio breach actually present in the submitted figures.
``latent_health.csv``: the latent health score per institution and quarter (the hidden state behind
the ratings). Further CSV tables (``hard_negatives.csv``, ``scheme_investors.csv``, ...) list the
rows behind the counts. The pipeline never reads these.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd


def check_separate(landing_dir: Path, ground_truth_dir: Path) -> None:
    """Raise ValueError unless the two directories are distinct and neither contains the other."""
    land = Path(landing_dir).resolve()
    gt = Path(ground_truth_dir).resolve()
    if gt == land or gt.is_relative_to(land) or land.is_relative_to(gt):
        raise ValueError(f"ground truth ({gt}) must be beside, never inside, the landing zone ({land})")


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_ground_truth(ground_truth_dir: Path, payload: dict, health_long: pd.DataFrame,
                       tables: dict[str, pd.DataFrame] | None = None) -> list[Path]:
    """Write ``ground_truth.json`` (``payload``), ``latent_health.csv`` and each of ``tables``
    (file name -> frame, written as UTF-8 CSV); returns the paths."""
    gt = Path(ground_truth_dir)
    gt.mkdir(parents=True, exist_ok=True)
    js = gt / "ground_truth.json"
    _atomic_write(js, (json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=False) + "\n").encode())
    h = health_long.copy()
    h["report_period"] = pd.to_datetime(h["report_period"]).dt.strftime("%Y-%m-%d")
    h["health_z"] = [f"{v:.6f}" for v in h["health_z"].tolist()]
    csv_path = gt / "latent_health.csv"
    _atomic_write(csv_path, h.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    out = [js, csv_path]
    for name, frame in (tables or {}).items():
        path = gt / name
        _atomic_write(path, frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))
        out.append(path)
    return out
