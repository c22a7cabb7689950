"""The simulator's answers, written next to (never inside) the landing zone.

``ground_truth.json``: run parameters, the institution list with what was planted, and every capital
ratio breach actually present in the submitted figures. ``latent_health.csv``: the latent health
score per institution and period (labels for model evaluation). The pipeline never reads these.
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


def write_ground_truth(ground_truth_dir: Path, payload: dict, health_long: pd.DataFrame) -> list[Path]:
    """Write ``ground_truth.json`` (``payload``) and ``latent_health.csv``; returns the paths."""
    gt = Path(ground_truth_dir)
    gt.mkdir(parents=True, exist_ok=True)
    js = gt / "ground_truth.json"
    _atomic_write(js, (json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=False) + "\n").encode())
    h = health_long.copy()
    h["report_period"] = pd.to_datetime(h["report_period"]).dt.strftime("%Y-%m-%d")
    h["health_z"] = [f"{v:.6f}" for v in h["health_z"].tolist()]
    csv_path = gt / "latent_health.csv"
    _atomic_write(csv_path, h.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    return [js, csv_path]
