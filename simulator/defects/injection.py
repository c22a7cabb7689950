""":func:`inject`: plant the planned defects into written submission folders. Each chosen submission
is copied to a temporary sibling (hard links), its defects applied there (submission kind first, then
one kind per file), and the copy swapped in for the original."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from include.ingest.contract import MANIFEST_NAME
from simulator.defects.catalogue import DefectConfig, resolve
from simulator.defects.datafile import link_copy, load, replace_file, swap_in, write_manifest
from simulator.defects.files import FILE_APPLY
from simulator.defects.plan import plan_defects
from simulator.defects.records import DEFECT_COLUMNS, Sub, record
from simulator.defects.rows import ROW_APPLY
from simulator.defects.submission import apply_submission_kind
from simulator.rng import stream


def _apply_submission(sub: Sub, p: dict, seed: int) -> list[dict]:
    sid = sub.manifest["submission_id"]
    rng = stream(seed, "defects", "apply", sid)
    tmp = sub.path.parent / f".{sid}.defects.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    link_copy(sub.path, tmp)
    try:
        manifest = json.loads(json.dumps(sub.manifest))
        records, manifest_bytes = apply_submission_kind(sub, p["submission"], manifest, tmp, rng)
        for fname, fkind in p["files"].items():
            entry = next(e for e in manifest["files"] if e["file"] == fname)
            rec = _apply_file(sub, tmp, entry, fkind, rng)
            if rec:
                records.append(rec)
        if manifest_bytes is None:
            if manifest == sub.manifest and not records:
                shutil.rmtree(tmp)
                return []
            write_manifest(tmp / MANIFEST_NAME, manifest)
        else:
            replace_file(tmp / MANIFEST_NAME, manifest_bytes)
        swap_in(tmp, sub.path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return records


def _apply_file(sub: Sub, tmp: Path, entry: dict, kind: str, rng) -> dict | None:
    f = load(tmp, entry)
    fn = ROW_APPLY.get(kind) or FILE_APPLY[kind]
    declared = len(f.rows)
    hit = fn(rng, f, None)
    if hit is None:
        return None
    row, rule, detail = hit
    if f.delete:
        (tmp / entry["file"]).unlink()
    else:
        data = f.render()
        if kind == "truncated_file":
            entry["rows"] = declared
        replace_file(tmp / entry["file"], data)
    if kind == "manifest_row_count":
        row = None
    return record(sub, kind, entry["dataset"], entry["file"], row, rule, detail)



def inject(landing_dir: Path, subs: Iterable[Path], config: DefectConfig, seed: int, *,
           min_each: bool = True) -> pd.DataFrame:
    """Inject defects into the submission folders ``subs`` (already written under ``landing_dir``);
    returns the defect records (see the module docstring)."""
    config = resolve(config)
    if not config.enabled:
        return pd.DataFrame(columns=DEFECT_COLUMNS)
    loaded = [Sub(Path(p), json.loads((Path(p) / MANIFEST_NAME).read_text(encoding="utf-8")))
              for p in sorted(subs)]
    plan = plan_defects(loaded, config, seed, min_each=min_each)
    records: list[dict] = []
    for s in loaded:
        p = plan.get(s.manifest["submission_id"])
        if p:
            records += _apply_submission(s, p, seed)
    return pd.DataFrame(records, columns=DEFECT_COLUMNS)
