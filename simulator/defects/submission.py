"""Submission kinds: the manifest or the lifecycle of a whole submission (an unregistered dataset
listed, manifest.json cut short, submitted late, a v1 superseded by a corrected v2)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

from include.ingest.contract import CST, MANIFEST_NAME, submission_id
from simulator.defects.catalogue import UNKNOWN_DATASET
from simulator.defects.datafile import choose, link_copy, load, replace_file, write_manifest
from simulator.defects.records import Sub, record
from simulator.schedule import DEADLINE_DAYS


def apply_submission_kind(sub: Sub, kind: str | None, manifest: dict, tmp: Path,
                          rng) -> tuple[list[dict], bytes | None]:
    """Apply ``kind`` to the working copy ``tmp`` of ``sub`` (``manifest``, a copy, is altered in place);
    returns the defect records and, when the defect is the manifest's bytes themselves, those bytes."""
    records: list[dict] = []
    manifest_bytes: bytes | None = None
    if kind == "unknown_dataset":
        name = f"{UNKNOWN_DATASET}.csv"
        data = b"collateral_id,loan_id,value\nK0000000001,L0000000001,100000.00\n"
        (tmp / name).write_bytes(data)
        manifest["files"].append({"dataset": UNKNOWN_DATASET, "file": name, "encoding": "utf-8", "delimiter": ",",
                                  "compression": None, "rows": 1, "sha256": hashlib.sha256(data).hexdigest()})
        records.append(record(sub, kind, UNKNOWN_DATASET, name, None, "manifest_dataset_known",
                              "whole submission refused: the manifest names an unregistered dataset"))
    elif kind == "malformed_manifest_json":
        body = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        manifest_bytes = body[: int(len(body) * 0.7)]
        records.append(record(sub, kind, "", MANIFEST_NAME, None, "manifest_json",
                              "whole submission refused: manifest.json cut at 70%"))
    elif kind == "late_submission":
        period = date.fromisoformat(manifest["period"])
        days = DEADLINE_DAYS + int(rng.integers(5, 41))
        when = datetime.combine(period + timedelta(days=days), datetime.min.time(), CST) + timedelta(
            hours=int(rng.integers(9, 18)), minutes=int(rng.integers(60)))
        before = manifest["submitted_at"]
        manifest["submitted_at"] = when.isoformat(timespec="seconds")
        records.append(record(sub, kind, "", MANIFEST_NAME, None, "",
                              f"submitted_at {before} -> {manifest['submitted_at']} ({days} days after the "
                              "period)"))
    elif kind == "resubmission_corrected":
        records += _resubmit(sub, manifest, tmp, rng)
    return records, manifest_bytes


def _resubmit(sub: Sub, manifest: dict, tmp: Path, rng) -> list[dict]:
    """v2 = the original files, submitted days later; v1 (``tmp``) loses the last record of one file."""
    m = sub.manifest
    v = int(m["version"]) + 1
    period = date.fromisoformat(m["period"])
    sid2 = submission_id(m["institution_code"], period, v)
    final2 = sub.path.parent / sid2
    if final2.exists():
        return []
    tmp2 = sub.path.parent / f".{sid2}.tmp"
    if tmp2.exists():
        shutil.rmtree(tmp2)
    link_copy(sub.path, tmp2)
    m2 = json.loads(json.dumps(m))
    m2["submission_id"], m2["version"] = sid2, v
    m2["submitted_at"] = (datetime.fromisoformat(m["submitted_at"]) + timedelta(days=int(rng.integers(3, 21)))
                          ).isoformat(timespec="seconds")
    write_manifest(tmp2 / MANIFEST_NAME, m2)
    os.rename(tmp2, final2)
    entry = choose(rng, [e for e in manifest["files"] if e["rows"] >= 2])
    f = load(tmp, entry)
    row = len(f.rows) - 1
    f.rows = f.rows[:-1]
    replace_file(tmp / entry["file"], f.render())
    return [record(sub, "resubmission_corrected", entry["dataset"], entry["file"], row, "",
                    f"v1 lacks this record; {sid2} (complete) supersedes it")]
