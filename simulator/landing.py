"""Writing (and checking) submissions in the landing zone, through the product's landing contract
(:mod:`include.ingest.contract`: layout, submission id, manifest model and its serialisation).

Data files as this writer formats them: UTF-8 (no BOM) or GB18030, comma-delimited, header row = the
registry's column order, RFC-4180 quoting (a field is quoted only when it holds a comma, quote or line
break; quotes are doubled), ``\\n`` line endings, empty field = NULL, dates ``YYYY-MM-DD``, timestamps
``YYYY-MM-DDTHH:MM:SS+08:00`` (naive datetimes in a frame are China Standard Time), numbers plain
decimals (never an exponent). Gzip members carry no file name and mtime 0, so output is byte-reproducible.

Atomicity: a submission is assembled in ``.<submission_id>.tmp`` beside its final directory and renamed
into place, so a reader never sees a half-written submission. Writing a submission that already exists
is a no-op when the manifest is byte-identical and an error otherwise (a changed submission needs a new
version).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from include.ingest.contract import (
    CST,
    FILE_KEYS,
    MANIFEST_KEYS,
    MANIFEST_NAME,
    data_file_name,
    manifest_bytes,
    manifest_dict,
    submission_dir,
)
from include.registry.datasets import Dataset, get

ENCODINGS = ("utf-8", "gb18030")
COMPRESSIONS = (None, "gzip")


LINE_TERMINATOR = "\n"

_NUMERIC_RE = re.compile(r"^numeric\((\d+)\s*,\s*(\d+)\)$")
_INT_TYPES = {"smallint", "integer", "int", "bigint"}


# --------------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------------


def _format_minor_units(values: np.ndarray, scale: int) -> np.ndarray:
    """int64 amounts in units of 10**-scale -> exact decimal strings."""
    a = values.astype(np.int64)
    absa = np.abs(a)
    whole = (absa // 10**scale).astype(str)
    if scale:
        frac = np.char.zfill((absa % 10**scale).astype(str), scale)
        whole = np.char.add(np.char.add(whole, "."), frac)
    return np.where(a < 0, np.char.add("-", whole), whole)


def _format_float(values: np.ndarray, scale: int | None) -> list[str]:
    if scale is not None:
        return [f"{v:.{scale}f}" for v in values.tolist()]
    return [np.format_float_positional(v, trim="-") for v in values.tolist()]


def _format_column(s: pd.Series, pg_type: str) -> pd.Series:
    """One column -> strings ('' for NULL) per its PostgreSQL type."""
    if isinstance(s.dtype, pd.StringDtype):  # already text (or pre-formatted): pass through
        return s.fillna("").astype(object)
    null = s.isna().to_numpy()
    out = np.full(len(s), "", dtype=object)
    keep = ~null
    if not keep.any():
        return pd.Series(out, index=s.index, dtype=object)
    t = pg_type.strip().lower()
    v = s[keep]
    m = _NUMERIC_RE.match(t)
    if t == "date":
        if pd.api.types.is_datetime64_any_dtype(v):
            vals = np.datetime_as_string(v.to_numpy().astype("datetime64[D]"), unit="D").astype(object)
        else:
            vals = [x if isinstance(x, str) else x.isoformat()[:10] for x in v.tolist()]
    elif t.startswith("timestamp"):
        if isinstance(v.dtype, pd.DatetimeTZDtype):
            v = v.dt.tz_convert(CST).dt.tz_localize(None)
        if pd.api.types.is_datetime64_any_dtype(v):
            # naive datetimes are China Standard Time (see module docstring)
            text = np.datetime_as_string(v.to_numpy().astype("datetime64[s]"), unit="s")
            vals = np.char.add(text, "+08:00" if t == "timestamptz" or "with time zone" in t else "").astype(object)
        else:
            vals = [x if isinstance(x, str) else pd.Timestamp(x).isoformat() for x in v.tolist()]
    elif m or t == "numeric" or t in ("double precision", "real"):
        scale = int(m.group(2)) if m else None
        if pd.api.types.is_integer_dtype(v) and scale is not None:
            vals = _format_minor_units(v.to_numpy(dtype=np.int64), scale)
        elif pd.api.types.is_integer_dtype(v):
            vals = v.to_numpy(dtype=np.int64).astype(str)
        elif pd.api.types.is_numeric_dtype(v):
            vals = _format_float(v.to_numpy(dtype=float), scale)
        else:
            vals = [str(x) for x in v.tolist()]
    elif t in _INT_TYPES:
        if pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v):
            vals = v.to_numpy(dtype=np.int64).astype(str)
        else:
            vals = [str(x) for x in v.tolist()]
    elif t == "boolean":
        vals = ["true" if bool(x) else "false" for x in v.tolist()]
    else:
        vals = [x if isinstance(x, str) else str(x) for x in v.tolist()]
    out[keep] = np.asarray(vals, dtype=object)
    return pd.Series(out, index=s.index, dtype=object)


def format_frame(frame: pd.DataFrame, dataset: Dataset | str) -> pd.DataFrame:
    """The registry's columns of ``frame``, in registry order, as text ready for CSV.

    Conventions: integer values in a ``numeric(p,s)`` column are in minor units (10**-s, e.g. fen
    for ``numeric(20,2)``) and are formatted exactly; floats get ``s`` decimals; dates become
    ``YYYY-MM-DD``; NULL (None/NaN/NaT) becomes the empty string; columns of a pandas string dtype
    pass through unchanged (so a frame can be formatted once and sliced).
    """
    ds = get(dataset) if isinstance(dataset, str) else dataset
    missing = [c for c in ds.column_names if c not in frame.columns]
    if missing:
        raise KeyError(f"frame lacks columns {missing} of dataset {ds.name!r}")
    cols = {c.name: _format_column(frame[c.name], c.pg_type) for c in ds.columns}
    return pd.DataFrame(cols, index=frame.index).astype("str")


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` by relative path (determinism and "nothing rewritten" checks)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _HashingWriter:
    """A binary sink that hashes what passes through to ``target``."""

    def __init__(self, target) -> None:
        self.target = target
        self.sha256 = hashlib.sha256()

    def write(self, b: bytes) -> int:
        self.sha256.update(b)
        return self.target.write(b)

    def flush(self) -> None:
        self.target.flush()


class _TextSink:
    """What ``csv.writer`` writes to: buffers text, encodes it in ~1 MB chunks into ``binary``."""

    def __init__(self, binary, encoding: str) -> None:
        self.binary, self.encoding = binary, encoding
        self.parts: list[str] = []
        self.size = 0

    def write(self, s: str) -> int:
        self.parts.append(s)
        self.size += len(s)
        if self.size >= 1 << 20:
            self.flush()
        return len(s)

    def flush(self) -> None:
        if self.parts:
            self.binary.write("".join(self.parts).encode(self.encoding))
            self.parts, self.size = [], 0


def write_data_file(path: Path, header: list[str], rows, *, encoding: str = "utf-8",
                    compression: str | None = None) -> str:
    """Write ``header`` and ``rows`` (iterable of sequences of str; '' = NULL) as CSV; returns the
    sha256 of the bytes written."""
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}")
    if compression not in COMPRESSIONS:
        raise ValueError(f"compression must be one of {COMPRESSIONS}")
    with open(path, "wb") as raw:
        hashing = _HashingWriter(raw)
        if compression == "gzip":
            # no file name and mtime 0 in the gzip header: same content, same bytes
            target = gzip.GzipFile(filename="", mode="wb", fileobj=hashing, mtime=0, compresslevel=6)
        else:
            target = hashing
        sink = _TextSink(target, encoding)
        w = csv.writer(sink, delimiter=",", quotechar='"', doublequote=True, quoting=csv.QUOTE_MINIMAL,
                       lineterminator=LINE_TERMINATOR)
        w.writerow(header)
        w.writerows(rows)
        sink.flush()
        if compression == "gzip":
            target.close()  # writes the gzip trailer; does not close ``raw``
    return hashing.sha256.hexdigest()


def text_rows(frame: pd.DataFrame | np.ndarray, dataset: Dataset | str) -> np.ndarray:
    """Rows as a 2-D object array of str in registry column order. A DataFrame is formatted with
    :func:`format_frame`; an ndarray is taken as already formatted."""
    if isinstance(frame, np.ndarray):
        return frame
    return format_frame(frame, dataset).to_numpy(dtype=object)


def write_submission(
    landing_dir: Path,
    institution_code: str,
    period: date,
    version: int,
    submitted_at: datetime,
    frames: Mapping[str, pd.DataFrame | np.ndarray],
    *,
    encoding: str = "utf-8",
    compression: str | None = None,
) -> Path:
    """Write one submission atomically; returns its directory.

    ``frames`` maps dataset name -> rows: a DataFrame (formatted with :func:`format_frame`) or a 2-D
    array of already formatted strings in registry column order (see :func:`text_rows`). Files are
    listed in the manifest in the order given. ``submitted_at`` must be timezone-aware; it is written
    in +08:00.
    """
    if submitted_at.tzinfo is None:
        raise ValueError("submitted_at must be timezone-aware")
    if version < 1:
        raise ValueError("version starts at 1")
    final = submission_dir(landing_dir, institution_code, period, version)
    sid = final.name
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{sid}.tmp"
    if tmp.exists():  # left over from an interrupted run
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        files = []
        for name, frame in frames.items():
            rows = text_rows(frame, name)
            fname = data_file_name(name, compression)
            digest = write_data_file(tmp / fname, get(name).column_names, rows.tolist(), encoding=encoding,
                                     compression=compression)
            files.append({
                "dataset": name, "file": fname, "encoding": encoding, "delimiter": ",",
                "compression": compression, "rows": int(rows.shape[0]), "sha256": digest,
            })
        manifest = manifest_dict(institution_code, period, version,
                                 submitted_at.astimezone(CST).isoformat(timespec="seconds"), files)
        body = manifest_bytes(manifest)
        (tmp / MANIFEST_NAME).write_bytes(body)
        if final.exists():
            existing = final / MANIFEST_NAME
            if existing.is_file() and existing.read_bytes() == body:
                shutil.rmtree(tmp)
                return final
            raise FileExistsError(f"{final} exists with different content; submit a new version")
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


# --------------------------------------------------------------------------------------------------
# Reading and checking (for tests and tools; the pipeline has its own loader)
# --------------------------------------------------------------------------------------------------


def iter_submissions(landing_dir: Path) -> Iterator[Path]:
    """Every complete submission directory, sorted; temporary (dot) directories are skipped."""
    for manifest in sorted(Path(landing_dir).glob(f"*/*/*/{MANIFEST_NAME}")):
        if not any(part.startswith(".") for part in manifest.relative_to(landing_dir).parts):
            yield manifest.parent


def read_manifest(sub_dir: Path) -> dict:
    return json.loads((Path(sub_dir) / MANIFEST_NAME).read_text(encoding="utf-8"))


def read_data_file(path: Path, *, encoding: str = "utf-8", compression: str | None = None,
                   delimiter: str = ",") -> tuple[list[str], list[list[str]]]:
    """(header, records) of a data file, every field as text."""
    opener = gzip.open if compression == "gzip" else open
    with opener(path, "rt", encoding=encoding, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        header = next(reader, [])
        return header, list(reader)


def verify_submission(sub_dir: Path) -> list[str]:
    """Problems with a submission (empty list = consistent): manifest keys, ids, and for every file
    its presence, sha256, row count and header."""
    sub_dir = Path(sub_dir)
    problems: list[str] = []
    try:
        m = read_manifest(sub_dir)
    except (OSError, ValueError) as e:
        return [f"manifest unreadable: {e}"]
    if tuple(m) != MANIFEST_KEYS:
        problems.append(f"manifest keys {list(m)} != {list(MANIFEST_KEYS)}")
        return problems
    expected_sid = f"{m['institution_code']}-{m['period'].replace('-', '')}-v{m['version']}"
    if m["submission_id"] != expected_sid or sub_dir.name != expected_sid:
        problems.append(f"submission id {m['submission_id']!r} / dir {sub_dir.name!r} != {expected_sid!r}")
    for f in m["files"]:
        if tuple(f) != FILE_KEYS:
            problems.append(f"file entry keys {list(f)} != {list(FILE_KEYS)}")
            continue
        path = sub_dir / f["file"]
        if not path.is_file():
            problems.append(f"{f['file']}: missing")
            continue
        if sha256_file(path) != f["sha256"]:
            problems.append(f"{f['file']}: sha256 mismatch")
        header, records = read_data_file(path, encoding=f["encoding"], compression=f["compression"],
                                         delimiter=f["delimiter"])
        if len(records) != f["rows"]:
            problems.append(f"{f['file']}: {len(records)} rows, manifest says {f['rows']}")
        if header != get(f["dataset"]).column_names:
            problems.append(f"{f['file']}: header differs from the registry's column order")
    return problems
