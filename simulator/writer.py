""":func:`write_world`: the one writer. Month by month it takes :meth:`World.month_frames` (a hook
for defect injection sits between the two), writes one submission per institution and month through the
landing writer (:mod:`.landing`), then the ground truth (:mod:`.ground_truth`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from include.registry.datasets import DATASETS, REGULATOR_CODE
from simulator import ground_truth as _gt
from simulator.landing import format_frame, write_submission
from simulator.world import World

MonthHook = Callable[[World, int, dict[str, pd.DataFrame]], dict[str, pd.DataFrame]]
#: a month's dataset with more rows is formatted one submission at a time (``write_world``)
BIG_MONTH_ROWS = 500_000


def _submitter_key(name: str, frame: pd.DataFrame) -> np.ndarray:
    if DATASETS[name].submitter == "regulator":
        return np.full(len(frame), REGULATOR_CODE, dtype=object)
    return frame["institution_code"].to_numpy()


def write_world(world: World, landing_dir: Path, ground_truth_dir: Path, *,
                month_hook: MonthHook | None = None, months: Iterable[int] | None = None) -> dict:
    """Write every submission of ``world`` into ``landing_dir`` and its answers into
    ``ground_truth_dir``; returns counts. ``month_hook(world, m, frames) -> frames`` may alter a month's
    frames before they are written. ``months`` (indices into ``world.months``) writes only those months
    (``simulate advance``); the ground truth is always written for the whole world. The returned
    ``written`` lists the submission folders written."""
    landing_dir, ground_truth_dir = Path(landing_dir), Path(ground_truth_dir)
    _gt.check_separate(landing_dir, ground_truth_dir)
    inst = world.universe.institutions
    delivery = {r.institution_code: (r.file_encoding, r.file_compression if isinstance(r.file_compression, str)
                                     else None) for r in inst.itertuples(index=False)}
    delivery[REGULATOR_CODE] = ("utf-8", None)
    order_codes = [*inst["institution_code"].tolist(), REGULATOR_CODE]
    n_sub = n_files = n_bytes = 0
    rows: dict[str, int] = dict.fromkeys(DATASETS, 0)
    peak_chunk = 0
    txn_seconds = 0.0
    only = None if months is None else set(months)
    written: list[Path] = []
    def write_month(month, frames: dict[str, pd.DataFrame], submitted_at: dict) -> None:
        nonlocal n_sub, n_files, n_bytes
        # per submitter: a dataset's text rows, or (frame, positions) of a big one, formatted when its
        # submission is written, so a month never holds all its big datasets as text at once
        per_sub: dict[str, dict[str, np.ndarray | tuple[pd.DataFrame, np.ndarray]]] = {}
        for name, frame in frames.items():
            rows[name] += len(frame)
            keys = _submitter_key(name, frame)
            if pd.isna(keys).any():
                raise ValueError(f"{name}: {int(pd.isna(keys).sum())} rows of month {month} have no institution")
            if len(frame) > BIG_MONTH_ROWS:  # format big months per submitter to bound memory
                idx = pd.Series(np.arange(len(frame))).groupby(keys, sort=False).indices
                for code, pos in idx.items():
                    per_sub.setdefault(code, {})[name] = (frame, pos)
            else:
                text = format_frame(frame, name).to_numpy(dtype=object)
                idx = pd.Series(np.arange(len(frame))).groupby(keys, sort=False).indices
                for code, pos in idx.items():
                    per_sub.setdefault(code, {})[name] = text[pos]
        for code in order_codes:
            if code not in per_sub:
                continue
            mine = per_sub.pop(code)
            files = {d: (format_frame(mine[d][0].iloc[mine[d][1]], d).to_numpy(dtype=object)
                         if isinstance(mine[d], tuple) else mine[d]) for d in DATASETS if d in mine}
            enc, comp = delivery[code]
            sub = write_submission(landing_dir, code, month, 1, submitted_at[(code, month)], files,
                                   encoding=enc, compression=comp)
            written.append(sub)
            n_sub += 1
            n_files += len(files)
            n_bytes += sum(f.stat().st_size for f in sub.iterdir())
            del mine, files

    hist = world.history
    if hist is not None and only is None:  # the prudential history: quarterly reports and the regulator's
        for month in hist.months:
            write_month(month, hist.month_frames(month), hist.submitted_at)
    for m, month in enumerate(world.months):
        if only is not None and m not in only:
            continue
        t0 = time.perf_counter()
        txn = world.transactions(m)
        txn_seconds += time.perf_counter() - t0  # transactions only (not the loans streamed with them)
        peak_chunk = max(peak_chunk, len(txn))
        frames = world.month_frames(m, transactions=txn)
        del txn
        if month_hook is not None:
            frames = month_hook(world, m, frames)
        write_month(month, frames, world.submitted_at)
        del frames
    payload = _gt.payload(world)
    health = world.health.long()
    if hist is not None:
        health = pd.concat([hist.health.long(), health], ignore_index=True)
    _gt.write_ground_truth(ground_truth_dir, payload, health, tables=_gt.tables(world))
    return {
        "submissions": n_sub,
        "files": n_files,
        "bytes": n_bytes,
        "rows": rows,
        "peak_transaction_chunk_rows": peak_chunk,
        "transaction_seconds": txn_seconds,
        "capital_breaches": len(payload["capital_breaches"]),
        "planted_capital_deterioration": len(payload["planted"]["capital_deterioration"]),
        "written": written,
    }

