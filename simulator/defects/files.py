"""File kinds: one data file damaged as a whole (format, encoding, header, manifest entry).
``FILE_APPLY[kind](rng, file, ctx)`` damages the file and returns the
:data:`~simulator.defects.datafile.Hit`, or None when it cannot; ``FILE_APPLIES[kind](entry)`` says
whether a manifest entry could have it (kinds left out: any file)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

from simulator.defects.datafile import DataFile, Hit, choose
from simulator.defects.rows import free_text_cols


def _wf_rule(entry: dict) -> str:
    return f"well_formed_{entry['encoding'].replace('-', '')}_csv"


def _file_unquoted(rng, f: DataFile, _ctx) -> Hit | None:
    cols = [c for c in free_text_cols(f.ds) if c in f.header] or \
           [c.name for c in f.ds.columns if c.pg_type == "text" and c.name not in f.ds.key]
    for c in rng.permutation(np.array(cols, dtype=object)).tolist() if cols else []:
        j = f.col(c)
        cand = [i for i, r in enumerate(f.rows) if not any(ch in v for v in r for ch in ',"\r\n')]
        if not cand:
            return None
        i = int(cand[rng.integers(len(cand))])
        fields = list(f.rows[i])
        fields[j] = (fields[j] or "备注") + ",另见附件"
        f.raw_lines[i] = ",".join(fields)
        return i, _wf_rule(f.entry), f"{c} holds an unquoted ',': one extra field on this line"
    return None


def _file_encoding(rng, f: DataFile, _ctx) -> Hit | None:
    if f.entry["encoding"] != "utf-8":
        return None
    i = next((i for i, r in enumerate(f.rows) if any(not v.isascii() for v in r)), None)
    if i is None:
        return None
    f.write_encoding = "gb18030"
    return i, "well_formed_utf8_csv", "GB18030 bytes declared utf-8; the first non-ASCII record is named"


def _file_truncated(rng, f: DataFile, _ctx) -> Hit | None:
    if not f.rows:
        return None
    f.keep_manifest_sha = True
    if f.entry.get("compression") == "gzip":
        f.post = lambda data: data[: max(10, int(len(data) * 0.6))]
        return None, "manifest_sha256", "gzip file cut at 60% of its bytes"
    i = int(rng.integers(len(f.rows)))
    f.rows = f.rows[: i + 1]  # the manifest keeps the original sha256 and row count (see _apply_file)

    def cut(data: bytes) -> bytes:
        last = data.rsplit(b"\n", 2)[-2]
        return data[: -(len(last) // 2 + 1)]

    f.post = cut
    return i, "manifest_sha256", "file ends in the middle of this line (transfer cut short)"


def _file_corrupt_gzip(rng, f: DataFile, _ctx) -> Hit | None:
    if f.entry.get("compression") != "gzip" or not f.rows:
        return None

    def damage(data: bytes) -> bytes:
        if len(data) < 40:
            return data
        mid = len(data) // 2
        n = min(16, len(data) - 8 - mid)
        return data[:mid] + bytes(b ^ 0xFF for b in data[mid: mid + n]) + data[mid + n:]

    f.post = damage
    return None, "gzip_integrity", "16 bytes inverted in the middle of the gzip stream"


def _file_extra_col(rng, f: DataFile, _ctx) -> Hit | None:
    f.header = [*f.header, "remark"]
    f.rows = [[*r, ""] for r in f.rows]
    return None, "header_matches_registry", "extra column 'remark' at the end"


def _file_missing_col(rng, f: DataFile, _ctx) -> Hit | None:
    cols = [c.name for c in f.ds.columns if c.name not in f.ds.key] or f.ds.column_names
    c = choose(rng, cols)
    j = f.col(c)
    f.header = f.header[:j] + f.header[j + 1:]
    f.rows = [r[:j] + r[j + 1:] for r in f.rows]
    return None, "header_matches_registry", f"column {c} left out"


def _file_reordered(rng, f: DataFile, _ctx) -> Hit | None:
    j = int(rng.integers(len(f.header) - 1))
    order = list(range(len(f.header)))
    order[j], order[j + 1] = order[j + 1], order[j]
    f.header = [f.header[k] for k in order]
    f.rows = [[r[k] for k in order] for r in f.rows]
    return None, "header_matches_registry", f"columns {f.header[j + 1]} and {f.header[j]} swapped"


def _file_row_count(rng, f: DataFile, _ctx) -> Hit | None:
    delta = int(choose(rng, [d for d in (-2, -1, 1, 2) if len(f.rows) + d >= 0]))
    f.rows_delta = delta
    return None, "manifest_row_count", f"manifest declares {len(f.rows) + delta} rows, the file holds {len(f.rows)}"


def _file_sha(rng, f: DataFile, _ctx) -> Hit | None:
    f.keep_manifest_sha = True
    f.post = lambda data: data
    f.entry["sha256"] = hashlib.sha256(b"defect:" + f.entry["file"].encode() + bytes(rng.bytes(8))).hexdigest()
    return None, "manifest_sha256", "manifest sha256 belongs to another file"


def _file_missing(rng, f: DataFile, _ctx) -> Hit | None:
    f.delete = True
    return None, "file_present", "file not delivered"


def _file_bom(rng, f: DataFile, _ctx) -> Hit | None:
    if f.entry["encoding"] != "utf-8":
        return None
    f.bom = True
    return None, "-", "UTF-8 BOM before the header"


def _file_crlf(rng, f: DataFile, _ctx) -> Hit | None:
    f.terminator = "\r\n"
    return None, "-", "CRLF line endings"


FILE_APPLY: dict[str, Callable] = {
    "unquoted_delimiter": _file_unquoted, "wrong_declared_encoding": _file_encoding,
    "truncated_file": _file_truncated, "corrupt_gzip": _file_corrupt_gzip, "extra_column": _file_extra_col,
    "missing_column": _file_missing_col, "reordered_columns": _file_reordered,
    "manifest_row_count": _file_row_count, "manifest_sha256": _file_sha, "file_missing": _file_missing,
    "bom_at_start": _file_bom, "crlf_line_endings": _file_crlf,
}
FILE_APPLIES: dict[str, Callable[[dict], bool]] = {
    "wrong_declared_encoding": lambda e: e["encoding"] == "utf-8" and e["rows"] > 0,
    "bom_at_start": lambda e: e["encoding"] == "utf-8",
    "corrupt_gzip": lambda e: e.get("compression") == "gzip" and e["rows"] > 0,
    "truncated_file": lambda e: e["rows"] > 0,
    "unquoted_delimiter": lambda e: e["rows"] > 0,
}
