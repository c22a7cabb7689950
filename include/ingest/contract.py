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

import calendar
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

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

# Bounds (hostile input, issue #14): every value of a manifest is range-checked here, so nothing
# out of range reaches the database or the file system.
#: institution codes: upper-case letters and digits (I0001, B0001, REG0000), at most 16
INSTITUTION_CODE_RE = r"^[A-Z0-9]{2,16}$"
#: data file names: plain (no path separator, no leading dot), letters, digits, ``_ . -``
FILE_NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
MAX_VERSION = 9999
MAX_ROWS = 10**9
#: the earliest period the reporting calendar knows
FIRST_PERIOD = date(2000, 1, 31)
#: a manifest larger than this is not read
MAX_MANIFEST_BYTES = 1 << 20


class ManifestError(ValueError):
    """The manifest cannot be trusted; nothing of the submission is loaded."""


def today_cst() -> date:
    """Today in China Standard Time (the reporting calendar's clock)."""
    return datetime.now(CST).date()


def is_period_end(d: date, grain: str) -> bool:
    """Is ``d`` a period end of the reporting calendar for ``grain`` (month or quarter)?"""
    if d.day != calendar.monthrange(d.year, d.month)[1]:
        return False
    return grain != "quarter" or d.month in (3, 6, 9, 12)


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
    file: StrictStr = Field(max_length=100)
    encoding: StrictStr = Field(max_length=16)
    delimiter: StrictStr
    compression: Literal["gzip"] | None = None
    rows: StrictInt = Field(ge=0, le=MAX_ROWS)
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
        if "/" in v or "\\" in v or v.startswith(".") or not re.match(FILE_NAME_RE, v):
            raise ValueError(f"file name {v[:100]!r} must be a plain name inside the submission folder "
                             "(letters, digits, _ . -; at most 100 characters)")
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
    institution_code: StrictStr = Field(pattern=INSTITUTION_CODE_RE)
    period: date
    submission_id: StrictStr = Field(max_length=64)
    version: StrictInt = Field(ge=1, le=MAX_VERSION)
    submitted_at: StrictStr | None = Field(default=None, max_length=40)
    files: list[FileSpec] = Field(min_length=1, max_length=len(DATASETS))
    #: set when this version deliberately changes an identity field (bureau_code, licence_no, uscc) of
    #: the institution record; without it such a change is rejected (rule: identity_change_flagged)
    identity_change: StrictBool = False

    @field_validator("period", mode="before")
    @classmethod
    def _iso_date(cls, v: Any) -> date:
        if not isinstance(v, str):
            raise ValueError(f"must be an ISO date text YYYY-MM-DD, got {v!r}")
        if len(v) != 10:
            raise ValueError(f"must be an ISO date text YYYY-MM-DD, got {v[:40]!r}")
        try:
            d = date.fromisoformat(v)
        except ValueError:
            raise ValueError(f"is not an ISO date: {v!r}") from None
        if not is_period_end(d, "month"):
            raise ValueError(f"{v} is not a period end of the reporting calendar (the last day of a month)")
        if d < FIRST_PERIOD:
            raise ValueError(f"{v} is before the reporting calendar's first period {FIRST_PERIOD}")
        if d > today_cst():
            raise ValueError(f"{v} is in the future (today is {today_cst()} in China Standard Time)")
        return d

    @field_validator("submitted_at")
    @classmethod
    def _timestamp(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            t = datetime.fromisoformat(v)
        except ValueError:
            raise ValueError(f"must be an ISO 8601 timestamp with its offset, got {v!r}") from None
        if t.tzinfo is None or not v[:4].isdigit() or not 2000 <= t.year <= 9999:
            raise ValueError(f"must be an ISO 8601 timestamp with its offset (YYYY-MM-DDTHH:MM:SS+08:00), got {v!r}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ManifestModel:
        want = submission_id(self.institution_code, self.period, self.version)
        if self.submission_id != want:
            raise ValueError(f"field 'submission_id': {self.submission_id[:64]!r} must be {want!r} "
                             "(institution code, period and version)")
        for i, f in enumerate(self.files):
            grain = DATASETS[f.dataset].grain
            if not is_period_end(self.period, grain):
                raise ValueError(f"files[{i}]: dataset {f.dataset!r} is reported per {grain}; "
                                 f"{self.period} is not a {grain} end")
        return self

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
    identity_change: bool = False

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
    where = str(path)
    data_bytes = read_regular(path, MAX_MANIFEST_BYTES, where)
    for d in path.parents[:3]:
        if d.is_symlink():
            raise ManifestError(f"{where}: {d.name} is a symbolic link; the landing zone holds real folders only")
    try:
        raw = json.loads(data_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ManifestError(f"{where}: not valid UTF-8 JSON ({e})") from None
    m = validate_manifest(raw, where)
    # The directory layout must agree with the manifest: a misplaced manifest is a delivery error.
    parts = path.parent.parts
    period_s = raw["period"]
    if len(parts) < 3:
        raise ManifestError(f"{where}: must be at <institution>/<period>/<submission_id>/manifest.json")
    if len(parts) >= 3 and (parts[-3], parts[-2], parts[-1]) != (m.institution_code, period_s, m.submission_id):
        raise ManifestError(f"{where}: path does not match manifest "
                            f"(expected .../{m.institution_code}/{period_s}/{m.submission_id}/manifest.json)")
    return Manifest(path=path, institution_code=m.institution_code, period=m.period, submission_id=m.submission_id,
                    version=m.version, submitted_at=m.submitted_at, files=tuple(m.files), raw=raw,
                    sha256=hashlib.sha256(data_bytes).hexdigest(), identity_change=m.identity_change)


def read_regular(path: Path, limit: int, where: str) -> bytes:
    """The bytes of ``path`` if it is a regular file (never through a symbolic link) of at most
    ``limit`` bytes; otherwise one ManifestError line."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        raise ManifestError(f"{where}: cannot be read ({_os_reason(e)})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ManifestError(f"{where}: not a regular file (rule: regular_files_only)")
    with os.fdopen(fd, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ManifestError(f"{where}: larger than {limit} bytes (rule: manifest_size)")
    return data


def _os_reason(e: OSError) -> str:
    import errno

    if e.errno == errno.ELOOP:
        return "a symbolic link; links are never followed (rule: no_links)"
    return e.strerror or type(e).__name__


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
