"""``simulate advance``: emit the next month after the latest one in the landing zone (issue #3 item 10).

The world is rebuilt with one more month (``Preset.extra_months``) and only the new month is written:
its detail datasets, the quarterly reports when it is a quarter end, the regulator's records, its
defects (when enabled, drawn from the month's own stream) and the external feeds republished through
the new month. Existing submissions are never rewritten; the ground truth is rewritten for the longer
window and ``defects.csv`` is extended.

The rebuilt world continues the one already delivered exactly (see :func:`simulator.build_world`
and :class:`simulator.rng.Extension`): the base window is identical, and every later month is
drawn from its own streams, so advancing twice gives the same months as building two extra months at
once. What continues: the same institutions, persons, firms, accounts, customers and loans (same ids;
balances amortise, performing loans default with the hazard of the lender's continued health, overdue
days grow and move the five categories), guarantees with their loans, latent health (deteriorating
institutions stay weak) and with it the quarterly reports, ratings, interventions and cases; schemes,
payroll, merchants, pensions and instalments per their plan. What is new: the month's transactions
(its own stream), renewals of loans maturing in the month (same customer and lender, the next loan ids)
and events after the window (defaults, a scheme collapsing on its planned month, ratings and cases of
new quarters). Not created after the base window: customers, accounts, loans for new borrowers.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import date
from pathlib import Path

from simulator import defects as _defects
from simulator import ground_truth as _gt
from simulator.build import build_world
from simulator.generation import write_external
from simulator.presets import Preset, get_preset
from simulator.writer import write_world


def landing_months(landing_dir: Path) -> list[date]:
    """The month ends present in the landing zone (``<institution>/<period>/``), sorted."""
    out = set()
    for d in Path(landing_dir).glob("*/*"):
        if d.is_dir() and not d.name.startswith("."):
            try:
                out.add(date.fromisoformat(d.name))
            except ValueError:
                continue
    return sorted(out)


def _months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def advance(landing_dir: Path, ground_truth_dir: Path, preset: str | Preset = "tiny", seed: int = 7, *,
            defects: _defects.DefectConfig | str | float | dict | None = None,
            external: bool | None = None) -> dict:
    """Write the month after the latest one in ``landing_dir`` for ``preset`` and ``seed`` (the same
    universe ``generate`` wrote). Returns a summary: period, quarter_end, submissions, files, bytes,
    rows per dataset, defects per kind, external_records per feed, seconds. Raises ValueError if the
    landing zone holds no month of this preset's window."""
    t0 = time.perf_counter()
    landing_dir, ground_truth_dir = Path(landing_dir), Path(ground_truth_dir)
    _gt.check_separate(landing_dir, ground_truth_dir)
    p = get_preset(preset) if isinstance(preset, str) else preset
    present = landing_months(landing_dir)
    if not present:
        raise ValueError(f"{landing_dir} holds no submissions: run generate first")
    latest = present[-1]
    extra = _months_between(p.last_period, latest) + 1
    if extra <= 0 and _months_between(latest, p.last_period) >= p.n_months:
        raise ValueError(f"latest month {latest} is outside preset {p.name!r}'s window")
    p2 = dataclasses.replace(p, extra_months=max(0, extra))
    world = build_world(p2, seed)
    target = next(i for i, m in enumerate(world.months) if _months_between(latest, m) == 1)
    written = write_world(world, landing_dir, ground_truth_dir, months=[target])
    subs = written.pop("written")
    written.pop("transaction_seconds", None)
    spec = defects if defects is not None else p.defects
    found = _defects.inject(landing_dir, subs, _defects.resolve(spec), seed, min_each=False)
    _defects.write_defects(ground_truth_dir, found, append=True)
    use_ext = p.external_feeds if external is None else external
    ext = write_external(world, landing_dir, ground_truth_dir) if use_ext else None
    month = world.months[target]
    return {
        "preset": p.name,
        "seed": seed,
        "period": month.isoformat(),
        "quarter_end": month.month % 3 == 0,
        "submissions": written["submissions"],
        "files": written["files"],
        "bytes": written["bytes"],
        "rows": {k: v for k, v in written["rows"].items() if v},
        "defects": {k: int(v) for k, v in found["kind"].value_counts().sort_index().items()},
        "external_records": ext,
        "seconds": round(time.perf_counter() - t0, 3),
    }
