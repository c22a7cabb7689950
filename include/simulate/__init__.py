"""The institution simulator: a synthetic but realistic population of supervised institutions that
deliver regulatory submissions into the landing zone, plus the ground truth to grade the pipeline.

Layout (one module per concern, each drawing from its own named random stream, see :mod:`.rng`):

* :mod:`.ids` identifiers (USCC, resident ID, LEI, licence numbers), pure functions
* :mod:`.geography` provinces, cities, supervising bureaus
* :mod:`.universe` institutions of every registered type
* :mod:`.health` latent health per institution and period (drives every indicator)
* :mod:`.prudential` INSTITUTION and CAPITAL_REPORT datasets
* :mod:`.schedule` submission timestamps
* :mod:`.landing` landing-zone writer (manifest + CSV files, atomic per submission)
* :mod:`.ground_truth` the answers, beside the landing zone
* :mod:`.presets` run sizes

:func:`build_world` simulates in memory (no I/O); :func:`generate` also writes everything. The same
seed and preset give byte-identical files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from include.datasets import DATASETS
from include.simulate import ground_truth as _gt
from include.simulate.health import NON_CAPITAL_TYPES, HealthPanel, simulate_health
from include.simulate.landing import format_frame, write_submission
from include.simulate.periods import quarter_ends
from include.simulate.presets import PRESETS, Preset, get_preset
from include.simulate.prudential import MIN_RATIOS, capital_ratios, capital_reports, institution_records
from include.simulate.rng import stream
from include.simulate.schedule import submission_times
from include.simulate.universe import Universe, build_universe

__all__ = ["PRESETS", "Preset", "World", "build_world", "generate"]


@dataclass
class World:
    """Everything simulated for one run, before it is written."""

    preset: Preset
    seed: int
    periods: list[date]
    universe: Universe
    health: HealthPanel
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)  # dataset name -> all rows


def build_world(preset: str | Preset = "tiny", seed: int = 7) -> World:
    """Simulate the population and every dataset in memory."""
    p = get_preset(preset) if isinstance(preset, str) else preset
    periods = quarter_ends(p.last_period, p.n_quarters)
    universe = build_universe(stream(seed, "universe"), p.n_institutions, established_before=periods[0],
                              gb18030_share=p.gb18030_share, gzip_share=p.gzip_share)
    inst = universe.institutions
    health = simulate_health(stream(seed, "health"), inst, periods, deteriorating_share=p.deteriorating_share)
    frames = {
        "institution": institution_records(inst, periods),
        "capital_report": capital_reports(stream(seed, "capital"), inst, health, periods),
    }
    unknown = set(frames) - set(DATASETS)
    assert not unknown, f"frames for unregistered datasets: {unknown}"
    return World(preset=p, seed=seed, periods=periods, universe=universe, health=health, frames=frames)


def _ground_truth_payload(world: World) -> dict:
    inst = world.universe.institutions
    det = dict(zip(world.health.codes, world.health.deteriorating.tolist(), strict=True))
    ratios = capital_ratios(world.frames["capital_report"])
    breach_cols = [f"breach_{k}" for k in MIN_RATIOS]
    breaches = ratios[ratios[breach_cols].any(axis=1)]
    return {
        "generator": "include.simulate",
        "preset": world.preset.name,
        "seed": world.seed,
        "periods": [p.isoformat() for p in world.periods],
        "minimum_ratios": MIN_RATIOS,
        "institutions": [
            {
                "institution_code": r.institution_code,
                "name": r.name,
                "institution_type": r.institution_type,
                "bureau_code": r.bureau_code,
                "size_tier": int(r.size_tier),
                "reports_capital": r.institution_type not in NON_CAPITAL_TYPES,
                "planted_capital_deterioration": bool(det[r.institution_code]),
            }
            for r in inst.itertuples(index=False)
        ],
        "planted": {
            "capital_deterioration": [c for c in world.health.codes if det[c]],
        },
        "capital_breaches": [
            {
                "institution_code": r.institution_code,
                "report_period": pd.Timestamp(r.report_period).date().isoformat(),
                "cet1_ratio": round(float(r.cet1_ratio), 6),
                "tier1_ratio": round(float(r.tier1_ratio), 6),
                "car": round(float(r.car), 6),
                "breached": [k for k in MIN_RATIOS if getattr(r, f"breach_{k}")],
            }
            for r in breaches.itertuples(index=False)
        ],
    }


def write_world(world: World, landing_dir: Path, ground_truth_dir: Path) -> dict:
    """Write every submission of ``world`` into ``landing_dir`` and its answers into
    ``ground_truth_dir``; returns counts."""
    landing_dir, ground_truth_dir = Path(landing_dir), Path(ground_truth_dir)
    _gt.check_separate(landing_dir, ground_truth_dir)
    inst = world.universe.institutions
    # Format each dataset once, then slice per submission.
    groups: dict[str, dict[tuple[str, str], np.ndarray]] = {}
    for name, frame in world.frames.items():
        text = format_frame(frame, name)
        rows = text.to_numpy(dtype=object)
        idx = text.groupby(["institution_code", DATASETS[name].period_column], sort=False).indices
        groups[name] = {k: rows[v] for k, v in idx.items()}
    when = submission_times(stream(world.seed, "schedule"), inst["institution_code"].tolist(), world.periods)
    order = [d for d in DATASETS if d in world.frames]
    n_sub = n_files = n_bytes = 0
    for r in inst.itertuples(index=False):
        for p in world.periods:
            key = (r.institution_code, p.isoformat())
            frames = {d: groups[d][key] for d in order if key in groups[d]}
            if not frames:
                continue
            compression = r.file_compression if isinstance(r.file_compression, str) else None
            sub = write_submission(landing_dir, r.institution_code, p, 1, when[(r.institution_code, p)], frames,
                                   encoding=r.file_encoding, compression=compression)
            n_sub += 1
            n_files += len(frames)
            n_bytes += sum(f.stat().st_size for f in sub.iterdir())
    payload = _ground_truth_payload(world)
    _gt.write_ground_truth(ground_truth_dir, payload, world.health.long())
    return {
        "submissions": n_sub,
        "files": n_files,
        "bytes": n_bytes,
        "capital_breaches": len(payload["capital_breaches"]),
        "planted_capital_deterioration": len(payload["planted"]["capital_deterioration"]),
    }


def generate(landing_dir: Path, ground_truth_dir: Path, preset: str = "tiny", seed: int = 7) -> dict:
    """Simulate ``preset`` with ``seed`` and write the landing zone and the ground truth.

    Returns a summary: preset, seed, periods, institutions (and by type), submissions, files, bytes,
    rows per dataset, planted/breach counts and seconds taken. Raises ValueError if the ground-truth
    directory is (or is inside) the landing zone, and FileExistsError if a submission already exists
    with different content.
    """
    t0 = time.perf_counter()
    _gt.check_separate(Path(landing_dir), Path(ground_truth_dir))
    world = build_world(preset, seed)
    written = write_world(world, Path(landing_dir), Path(ground_truth_dir))
    types = world.universe.institutions["institution_type"].value_counts()
    return {
        "preset": world.preset.name,
        "seed": seed,
        "periods": [p.isoformat() for p in world.periods],
        "institutions": len(world.universe.institutions),
        "institutions_by_type": {t: int(types.get(t, 0)) for t in sorted(types.index)},
        "bureaus": len(world.universe.bureaus),
        "rows": {name: int(len(f)) for name, f in world.frames.items()},
        **written,
        "seconds": round(time.perf_counter() - t0, 3),
    }
