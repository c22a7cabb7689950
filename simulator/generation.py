""":func:`generate`: one whole run: build the world, write the landing zone and the ground truth, plant
the delivery defects, write the external feeds; and :func:`write_external`, the feeds of a world as
files beside the landing zone (also used by ``simulate advance``)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

from simulator import defects as _defects
from simulator import ground_truth as _gt
from simulator.build import build_world
from simulator.presets import Preset
from simulator.transactions import month_transactions
from simulator.world import World
from simulator.writer import write_world


def generate(landing_dir: Path, ground_truth_dir: Path, preset: str | Preset = "tiny", seed: int = 7, *,
             defects: _defects.DefectConfig | str | float | dict | None = None,
             external: bool | None = None) -> dict:
    """Simulate ``preset`` with ``seed`` and write the landing zone and the ground truth.

    Returns a summary: preset, seed, periods (the month ends submitted), quarters, institutions (and
    by type), persons, firms, submissions, files, bytes, rows per dataset, planted counts,
    transactions generated per second and seconds taken. Raises ValueError if the ground-truth
    directory is (or is inside) the landing zone, and FileExistsError if a submission already exists
    with different content.

    ``defects`` (default: the preset's ``defects``, "none") plants delivery defects after writing
    (:mod:`.defects`; recorded in ``ground_truth/defects.csv``). ``external`` (default: the preset's
    ``external_feeds``) also writes the external feeds as JSONL files in ``<landing_dir>/../external/``
    and their hidden labels into the ground truth.
    """
    t0 = time.perf_counter()
    landing_dir, ground_truth_dir = Path(landing_dir), Path(ground_truth_dir)
    _gt.check_separate(landing_dir, ground_truth_dir)
    world = build_world(preset, seed)
    t_build = time.perf_counter() - t0
    written = write_world(world, landing_dir, ground_truth_dir)
    subs = written.pop("written")
    if world.history is not None:  # delivery defects are planted in the window's deliveries only: the history
        # stands for the archive of reports and ratings already received (and the window's defects stay as
        # they are without it)
        old = {m.isoformat() for m in world.history.months}
        subs = [s for s in subs if Path(s).parent.name not in old]
    types = world.universe.institutions["institution_type"].value_counts()
    n_txn = written["rows"]["transaction"]
    txn_s = written.pop("transaction_seconds")
    if "transaction" in world.frames:  # generated during build: time it from the context instead
        txn_s = _time_transactions(world)
    t = time.perf_counter()
    found = _defects.inject(landing_dir, subs, _defects.resolve(defects if defects is not None
                                                                else world.preset.defects), seed)
    _defects.write_defects(ground_truth_dir, found)
    t_defects = time.perf_counter() - t
    t = time.perf_counter()
    ext = write_external(world, landing_dir, ground_truth_dir) if (
        world.preset.external_feeds if external is None else external) else None
    t_external = time.perf_counter() - t
    return {
        "preset": world.preset.name,
        "seed": seed,
        "periods": [m.isoformat() for m in world.months],
        "quarters": [p.isoformat() for p in world.periods],
        # quarters of prudential history before them (quarterly reports and the regulator's records only)
        "history_quarters": [q.isoformat() for q in world.history.quarters] if world.history else [],
        "institutions": len(world.universe.institutions),
        "institutions_by_type": {t: int(types.get(t, 0)) for t in sorted(types.index)},
        "bureaus": len(world.universe.bureaus),
        "persons": len(world.persons),
        "firms": len(world.firms),
        "schemes": len(world.schemes),
        **written,
        "defects": {k: int(v) for k, v in found["kind"].value_counts().sort_index().items()},
        "external_records": ext,
        "transactions_per_second": int(n_txn / txn_s) if txn_s > 0 else None,
        "build_seconds": round(t_build, 3),
        "defect_seconds": round(t_defects, 3),
        "external_seconds": round(t_external, 3),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def external_dir(landing_dir: Path) -> Path:
    """Where the external feeds are written as files: ``<landing_dir>/../external`` (beside the landing
    zone, like the ground truth)."""
    return Path(landing_dir).resolve().parent / "external"


def write_external(world: World, landing_dir: Path, ground_truth_dir: Path, *,
                   published_through: date | None = None) -> dict[str, int]:
    """Write the external feeds of ``world`` as published through ``published_through`` (default: its
    last month) to :func:`external_dir` and their hidden labels to ``ground_truth_dir``; returns records
    per feed."""
    from simulator.external import FeedServer, from_world

    out = external_dir(landing_dir)
    _gt.check_separate(Path(landing_dir), out)
    server = FeedServer(from_world(world), published_through=published_through)  # not started: files only
    entries = server.write_files(out)
    server.write_ground_truth(ground_truth_dir)
    return {feed: int(e["records"]) for feed, e in entries.items()}


def _time_transactions(world: World) -> float:
    """Seconds to regenerate one month of transactions, scaled to the whole run (cheap estimate)."""
    m = len(world.months) - 1
    t0 = time.perf_counter()
    month_transactions(world.txn_context, m)
    return (time.perf_counter() - t0) * len(world.months)

