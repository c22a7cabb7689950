"""Received files: archived as received (sha256 is a file's identity), read back as a byte stream
(gzip decompressed), the header checked against the registry. Errors are :class:`LoadError` whose
message names the line and the rule."""

from __future__ import annotations

import csv
import hashlib
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

from include.ingest.contract import FileEntry
from include.registry.datasets import Dataset

CHUNK = 1 << 20


class LoadError(Exception):
    """A file cannot be loaded as delivered; the message names the file, line and rule."""



# --------------------------------------------------------------------------- archive
def archive_file(src: Path, archive_dir: Path) -> tuple[str, Path]:
    """Copy ``src`` into the archive as received; return (sha256, archived path). Idempotent."""
    archive_dir.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    tmp = archive_dir / f".incoming-{os.getpid()}-{src.name}"
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        while chunk := fin.read(CHUNK):
            h.update(chunk)
            fout.write(chunk)
    sha = h.hexdigest()
    suffix = "".join(src.suffixes)
    dest = archive_dir / sha[:2] / f"{sha}{suffix}"
    dest.parent.mkdir(exist_ok=True)
    if dest.exists():
        tmp.unlink()
    else:
        os.replace(tmp, dest)
        os.chmod(dest, 0o444)
    return sha, dest


# --------------------------------------------------------------------------- reading files
def _byte_stream(path: Path, compression: str | None) -> Iterator[bytes]:
    """The file's bytes, decompressed when gzip; corrupt or truncated gzip raises LoadError."""
    with open(path, "rb") as f:
        if compression != "gzip":
            while chunk := f.read(CHUNK):
                yield chunk
            return
        d = zlib.decompressobj(wbits=31)
        try:
            while chunk := f.read(CHUNK):
                out = d.decompress(chunk)
                if out:
                    yield out
                while d.unused_data and d.eof:  # concatenated gzip members
                    rest = d.unused_data
                    d = zlib.decompressobj(wbits=31)
                    out = d.decompress(rest)
                    if out:
                        yield out
            tail = d.flush()
            if tail:
                yield tail
        except zlib.error as e:
            raise LoadError(f"corrupt gzip ({e}) (rule: gzip_integrity)") from None
        if not d.eof:
            raise LoadError("corrupt gzip: the file is truncated, no end-of-stream marker (rule: gzip_integrity)")


def _split_header(stream: Iterator[bytes]) -> tuple[bytes, Iterator[bytes]]:
    buf = b""
    for chunk in stream:
        buf += chunk
        nl = buf.find(b"\n")
        if nl >= 0:
            header, rest = buf[: nl + 1], buf[nl + 1:]

            def remainder(first=rest, it=stream):
                if first:
                    yield first
                yield from it

            return header, remainder()
        if len(buf) > 1 << 20:
            break
    return buf, iter(())


def check_header(header: bytes, entry: FileEntry, dataset: Dataset) -> None:
    """The header must list the registry's columns in order; say exactly what differs."""
    try:
        text = header.decode(entry.encoding)
    except UnicodeDecodeError as e:
        raise LoadError(f"line 1: header is not valid {entry.encoding} ({e.reason} at byte {e.start})") from None
    text = text.lstrip("\ufeff").rstrip("\r\n")
    got = [c.strip() for c in next(csv.reader([text], delimiter=entry.delimiter))] if text else []
    want = dataset.column_names
    if got == want:
        return
    missing = [c for c in want if c not in got]
    extra = [c for c in got if c not in want]
    problems = []
    if missing:
        problems.append(f"missing columns {missing}")
    if extra:
        problems.append(f"unexpected columns {extra}")
    if not missing and not extra:
        problems.append(f"columns out of order: expected {want}, got {got}")
    raise LoadError(f"line 1 (header): {'; '.join(problems)} (rule: header_matches_registry)")

