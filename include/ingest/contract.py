"""The landing contract: how an institution delivers a submission. One module, used by the loader to
read and by every writer (the simulator, ``supervision import``) to write; ``docs/landing-contract.md``
is its prose for an institution's IT team.

Layout: ``landing/<institution_code>/<period YYYY-MM-DD>/<submission_id>/`` holding ``manifest.json``
and one file per dataset, ``<dataset>.csv`` (``<dataset>.csv.gz`` when gzipped), with
``submission_id = f"{institution_code}-{period:%Y%m%d}-v{version}"``. A submission is assembled in a
dot-directory beside its final place and renamed into place; readers ignore names starting with a dot.

The manifest (:class:`ManifestModel`, exactly these keys in this order)::

    {"manifest_version": 1, "institution_code": str, "period": "YYYY-MM-DD", "submission_id": str,
     "version": int, "submitted_at": "YYYY-MM-DDTHH:MM:SS+08:00",
     "files": [{"dataset": str, "file": str, "encoding": "utf-8"|"gb18030", "delimiter": ",",
                "compression": null|"gzip", "rows": int, "sha256": str}]}

:func:`parse_manifest` checks a delivered manifest against the model and the layout and returns a
:class:`Manifest`; every problem is one :class:`ManifestError` line naming the manifest file and the
field, so it can be sent back to the institution as it is. :func:`manifest_bytes` is the one
serialisation writers use, so what they write is what the loader reads.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator

from include.registry.datasets import DATASETS

MANIFEST_NAME = "manifest.json"
#: the manifest format this contract defines; a delivery with another value is refused
MANIFEST_VERSION = 1
#: accepted file encodings -> PostgreSQL's name for them (COPY ... ENCODING)
ENCODINGS = {"utf-8": "UTF8", "gb18030": "GB18030"}
COMPRESSIONS = (None, "gzip")
#: China Standard Time: timestamps in data files and manifests are written in +08:00
CST = timezone(timedelta(hours=8))
MANIFEST_KEYS = ("manifest_version", "institution_code", "period", "submission_id", "version",
                 "submitted_at", "files")
FILE_KEYS = ("dataset", "file", "encoding", "delimiter", "compression", "rows", "sha256")


class ManifestError(ValueError):
    """The manifest cannot be trusted; nothing of the submission is loaded."""


def submission_id(institution_code: str, period: date, version: int) -> str:
    return f"{institution_code}-{period:%Y%m%d}-v{version}"


def submission_dir(landing_dir: Path, institution_code: str, period: date, version: int) -> Path:
    return Path(landing_dir) / institution_code / period.isoformat() / submission_id(
        institution_code, period, version)


def data_file_name(dataset: str, compression: str | None) -> str:
    return f"{dataset}.csv" + (".gz" if compression == "gzip" else "")


class FileSpec(BaseModel):
    """One data file of a submission, as the manifest lists it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    dataset: StrictStr
    file: StrictStr
    encoding: StrictStr
    delimiter: StrictStr
    compression: Literal["gzip"] | None = None
    rows: StrictInt = Field(ge=0)
    sha256: StrictStr = Field(pattern=r"^[0-9a-fA-F]{64}$")

    @field_validator("dataset")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in DATASETS:
            raise ValueError(f"unknown dataset {v!r}; known: {sorted(DATASETS)}")
        return v

    @field_validator("file")
    @classmethod
    def _plain(cls, v: str) -> str:
        if "/" in v or "\\" in v or v.startswith("."):
            raise ValueError(f"file name {v!r} must be a plain name inside the submission folder")
        return v

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v: str) -> str:
        if v.lower() not in ENCODINGS:
            raise ValueError(f"encoding {v.lower()!r} not accepted (use one of {sorted(ENCODINGS)})")
        return v.lower()

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, v: str) -> str:
        if len(v) != 1 or v in "\r\n\"":
            raise ValueError("delimiter must be one character other than quote or newline")
        return v

    @field_validator("sha256")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.lower()


class ManifestModel(BaseModel):
    """A submission's manifest (``manifest.json``)."""

    model_config = ConfigDict(extra="ignore")

    manifest_version: Literal[1]
    institution_code: StrictStr
    period: date
    submission_id: StrictStr
    version: StrictInt = Field(ge=1)
    submitted_at: str | None = None
    files: list[FileSpec] = Field(min_length=1)

    @field_validator("period", mode="before")
    @classmethod
    def _iso_date(cls, v: Any) -> date:
        if not isinstance(v, str):
            raise ValueError(f"must be an ISO date text YYYY-MM-DD, got {v!r}")
        try:
            return date.fromisoformat(v)
        except ValueError:
            raise ValueError(f"is not an ISO date: {v!r}") from None

    @field_validator("files")
    @classmethod
    def _once(cls, v: list[FileSpec]) -> list[FileSpec]:
        seen: set[str] = set()
        for i, f in enumerate(v):
            if f.dataset in seen:
                raise ValueError(f"files[{i}]: dataset {f.dataset!r} listed twice")
            seen.add(f.dataset)
        return v


#: The loader's name for a manifest's file entry.
FileEntry = FileSpec


@dataclass(frozen=True)
class Manifest:
    """A delivered manifest, checked: the model's fields plus where it was found and its own hash."""

    path: Path
    institution_code: str
    period: date
    submission_id: str
    version: int
    submitted_at: str | None
    files: tuple[FileSpec, ...]
    raw: dict
    sha256: str

    @property
    def directory(self) -> Path:
        return self.path.parent


def _first_error(e: ValidationError) -> str:
    """Pydantic's first error as ``field 'x': message`` (``files[2].rows`` for nested fields)."""
    err = e.errors(include_url=False)[0]
    loc = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(err["loc"]))
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "missing":
        return f"missing field {loc!r}"
    if err["type"] == "literal_error" and loc == "manifest_version":
        return f"unsupported manifest_version {err.get('input')!r} (expected {MANIFEST_VERSION})"
    if msg.startswith("files["):
        return msg
    return f"field {loc!r}: {msg}" if loc else msg


def validate_manifest(raw: Any, where: str) -> ManifestModel:
    """Check a decoded manifest against the contract; raise one ManifestError line naming ``where``."""
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: top level must be an object")
    try:
        return ManifestModel.model_validate(raw)
    except ValidationError as e:
        raise ManifestError(f"{where}: {_first_error(e)}") from None


def parse_manifest(path: Path) -> Manifest:
    """Read, check and type a delivered manifest; the folder must agree with it."""
    data_bytes = path.read_bytes()
    where = str(path)
    try:
        raw = json.loads(data_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ManifestError(f"{where}: not valid UTF-8 JSON ({e})") from None
    m = validate_manifest(raw, where)
    # The directory layout must agree with the manifest: a misplaced manifest is a delivery error.
    parts = path.parent.parts
    period_s = raw["period"]
    if len(parts) >= 3 and (parts[-3], parts[-2], parts[-1]) != (m.institution_code, period_s, m.submission_id):
        raise ManifestError(f"{where}: path does not match manifest "
                            f"(expected .../{m.institution_code}/{period_s}/{m.submission_id}/manifest.json)")
    return Manifest(path=path, institution_code=m.institution_code, period=m.period, submission_id=m.submission_id,
                    version=m.version, submitted_at=m.submitted_at, files=tuple(m.files), raw=raw,
                    sha256=hashlib.sha256(data_bytes).hexdigest())


def manifest_dict(institution_code: str, period: date, version: int, submitted_at: str,
                  files: list[dict]) -> dict:
    """A manifest as writers emit it (keys in contract order), checked against the model."""
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "institution_code": institution_code,
        "period": period.isoformat(),
        "submission_id": submission_id(institution_code, period, version),
        "version": int(version),
        "submitted_at": submitted_at,
        "files": [{k: f[k] for k in FILE_KEYS} for f in files],
    }
    validate_manifest(manifest, f"manifest of {manifest['submission_id']}")
    return manifest


def manifest_bytes(manifest: dict) -> bytes:
    """The one serialisation of a manifest: UTF-8 JSON, two-space indent, trailing newline."""
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def find_manifests(landing: Path) -> list[Path]:
    """Every complete submission in the landing zone (writers rename a finished folder into place)."""
    if not landing.exists():
        return []
    return sorted(p for p in landing.glob(f"*/*/*/{MANIFEST_NAME}") if not p.parent.name.startswith("."))
