"""The landing-zone contract: ``landing/<institution>/<period>/<submission_id>/manifest.json``.

``parse_manifest`` checks the manifest's shape and returns a typed object; every error names the
manifest file and the offending field, so it can be sent back to the institution as is.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from include.datasets import DATASETS

ENCODINGS = {"utf-8": "UTF8", "gb18030": "GB18030"}
_SHA = re.compile(r"^[0-9a-f]{64}$")


class ManifestError(ValueError):
    """The manifest cannot be trusted; nothing of the submission is loaded."""


@dataclass(frozen=True)
class FileEntry:
    dataset: str
    file: str
    encoding: str
    delimiter: str
    compression: str | None
    rows: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    path: Path
    institution_code: str
    period: date
    submission_id: str
    version: int
    submitted_at: str | None
    files: tuple[FileEntry, ...]
    raw: dict
    sha256: str

    @property
    def directory(self) -> Path:
        return self.path.parent


def _need(d: dict, key: str, typ: type | tuple, where: str):
    if key not in d:
        raise ManifestError(f"{where}: missing field {key!r}")
    val = d[key]
    if not isinstance(val, typ) or isinstance(val, bool) and typ is int:
        raise ManifestError(f"{where}: field {key!r} must be {getattr(typ, '__name__', typ)}, got {val!r}")
    return val


def parse_manifest(path: Path) -> Manifest:
    data_bytes = path.read_bytes()
    where = str(path)
    try:
        raw = json.loads(data_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ManifestError(f"{where}: not valid UTF-8 JSON ({e})") from None
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: top level must be an object")
    if raw.get("manifest_version") != 1:
        raise ManifestError(f"{where}: unsupported manifest_version {raw.get('manifest_version')!r} (expected 1)")
    inst = _need(raw, "institution_code", str, where)
    period_s = _need(raw, "period", str, where)
    try:
        period = date.fromisoformat(period_s)
    except ValueError:
        raise ManifestError(f"{where}: field 'period' is not an ISO date: {period_s!r}") from None
    sub_id = _need(raw, "submission_id", str, where)
    version = _need(raw, "version", int, where)
    if version < 1:
        raise ManifestError(f"{where}: field 'version' must be >= 1")
    # The directory layout must agree with the manifest: a misplaced manifest is a delivery error.
    parts = path.parent.parts
    if len(parts) >= 3 and (parts[-3], parts[-2], parts[-1]) != (inst, period_s, sub_id):
        raise ManifestError(f"{where}: path does not match manifest "
                            f"(expected .../{inst}/{period_s}/{sub_id}/manifest.json)")
    files_raw = _need(raw, "files", list, where)
    if not files_raw:
        raise ManifestError(f"{where}: 'files' is empty")
    files = []
    seen = set()
    for i, f in enumerate(files_raw):
        fw = f"{where}: files[{i}]"
        if not isinstance(f, dict):
            raise ManifestError(f"{fw}: must be an object")
        ds = _need(f, "dataset", str, fw)
        if ds not in DATASETS:
            raise ManifestError(f"{fw}: unknown dataset {ds!r}; known: {sorted(DATASETS)}")
        if ds in seen:
            raise ManifestError(f"{fw}: dataset {ds!r} listed twice")
        seen.add(ds)
        name = _need(f, "file", str, fw)
        if "/" in name or "\\" in name or name.startswith("."):
            raise ManifestError(f"{fw}: file name {name!r} must be a plain name inside the submission folder")
        enc = _need(f, "encoding", str, fw).lower()
        if enc not in ENCODINGS:
            raise ManifestError(f"{fw}: encoding {enc!r} not accepted (use one of {sorted(ENCODINGS)})")
        delim = _need(f, "delimiter", str, fw)
        if len(delim) != 1 or delim in "\r\n\"":
            raise ManifestError(f"{fw}: delimiter must be one character other than quote or newline")
        comp = f.get("compression")
        if comp not in (None, "gzip"):
            raise ManifestError(f"{fw}: compression must be null or 'gzip', got {comp!r}")
        rows = _need(f, "rows", int, fw)
        if rows < 0:
            raise ManifestError(f"{fw}: rows must be >= 0")
        sha = _need(f, "sha256", str, fw).lower()
        if not _SHA.match(sha):
            raise ManifestError(f"{fw}: sha256 must be 64 hex characters")
        files.append(FileEntry(ds, name, enc, delim, comp, rows, sha))
    return Manifest(path=path, institution_code=inst, period=period, submission_id=sub_id, version=version,
                    submitted_at=raw.get("submitted_at"), files=tuple(files), raw=raw,
                    sha256=hashlib.sha256(data_bytes).hexdigest())


def find_manifests(landing: Path) -> list[Path]:
    """Every complete submission in the landing zone (writers rename a finished folder into place)."""
    if not landing.exists():
        return []
    return sorted(p for p in landing.glob("*/*/*/manifest.json") if not p.parent.name.startswith("."))
