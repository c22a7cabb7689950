"""Received files: archived as received (sha256 is a file's identity), read back as a byte stream
(gzip decompressed), the header checked against the registry. Errors are :class:`LoadError` whose
message names the line and the rule."""

from __future__ import annotations

import csv
import errno
import hashlib
import os
import re
import stat
import zlib
from collections.abc import Iterator
from pathlib import Path

from include.ingest.contract import FileEntry
from include.registry.datasets import Dataset

CHUNK = 1 << 20
#: a received file larger than this is refused (rule: file_size)
MAX_FILE_BYTES = 8 << 30
#: decompressed gzip may be at most this many times its compressed size, and at most
#: MAX_FILE_BYTES (rule: gzip_size_cap): a gzip bomb stops there, in bounded memory
MAX_GZIP_RATIO = 100
MIN_GZIP_ALLOWANCE = 16 << 20


class LoadError(Exception):
    """A file cannot be loaded as delivered; the message names the file, line and rule."""



# --------------------------------------------------------------------------- archive
def open_regular(src: Path) -> int:
    """A read descriptor on ``src`` if it is a regular file reached without following a symbolic
    link (``O_NOFOLLOW``; ``O_NONBLOCK`` so a FIFO cannot hang the open), else LoadError."""
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise LoadError("the file is a symbolic link; links are never followed (rule: no_links)") from None
        if e.errno == errno.ENOENT:
            raise LoadError("file listed in the manifest was not delivered (rule: file_present)") from None
        raise LoadError(f"the file cannot be read: {e.strerror} (rule: regular_files_only)") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise LoadError("not a regular file (a directory, device, FIFO or socket) (rule: regular_files_only)")
    if st.st_size > MAX_FILE_BYTES:
        os.close(fd)
        raise LoadError(f"the file has {st.st_size} bytes, more than the {MAX_FILE_BYTES} accepted (rule: file_size)")
    return fd


def private_dir(path: Path) -> Path:
    """``path`` created (with its parents) as 0700 if missing."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def archive_file(src: Path, archive_dir: Path) -> tuple[str, Path]:
    """Copy ``src`` into the archive as received; return (sha256, archived path). Idempotent.

    Only a regular file is archived, never through a link (:func:`open_regular`); the archive is
    private to the loader's user (directories 0700, files 0400)."""
    fd = open_regular(src)
    private_dir(archive_dir)
    h = hashlib.sha256()
    tmp = archive_dir / f".incoming-{os.getpid()}-{hashlib.sha256(src.name.encode()).hexdigest()[:16]}"
    size = 0
    try:
        try:
            out_fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        except BaseException:
            os.close(fd)
            raise
        with os.fdopen(fd, "rb") as fin, os.fdopen(out_fd, "wb") as fout:
            while chunk := fin.read(CHUNK):
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise LoadError(f"the file grew beyond the {MAX_FILE_BYTES} bytes accepted (rule: file_size)")
                h.update(chunk)
                fout.write(chunk)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    sha = h.hexdigest()
    suffix = "".join(src.suffixes)
    if not re.fullmatch(r"(\.[A-Za-z0-9]{1,8}){0,3}", suffix):
        suffix = ""
    dest = archive_dir / sha[:2] / f"{sha}{suffix}"
    private_dir(dest.parent)
    if dest.exists():
        tmp.unlink()
    else:
        os.chmod(tmp, 0o400)
        os.replace(tmp, dest)
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
        cap = min(MAX_FILE_BYTES, max(MIN_GZIP_ALLOWANCE, MAX_GZIP_RATIO * os.fstat(f.fileno()).st_size))
        total = 0

        def bounded(data: bytes) -> Iterator[bytes]:
            """Decompress ``data`` at most CHUNK bytes at a time (never a whole bomb in memory)."""
            nonlocal d, total
            while True:
                out = d.decompress(data, CHUNK)
                total += len(out)
                if total > cap:
                    raise LoadError(f"decompressed size exceeds {cap} bytes ({MAX_GZIP_RATIO}x the compressed "
                                    "size or the file size limit) (rule: gzip_size_cap)")
                if out:
                    yield out
                data = d.unconsumed_tail
                if d.eof and d.unused_data:  # concatenated gzip members
                    data = d.unused_data
                    d = zlib.decompressobj(wbits=31)
                    continue
                if not data:
                    return

        try:
            while chunk := f.read(CHUNK):
                yield from bounded(chunk)
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


_COLUMN_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


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
        # a file without its header has a data row here: never quote it (personal data)
        names = [c for c in extra if _COLUMN_NAME.match(c)]
        hidden = len(extra) - len(names)
        problems.append(f"unexpected columns {names}" + (f" and {hidden} value(s) that are not column names "
                                                         "(not quoted: the first line looks like data)"
                                                         if hidden else ""))
    if not missing and not extra:
        problems.append(f"columns out of order: expected {want}, got {got}")
    elif not problems:
        problems.append("columns repeated")
    raise LoadError(f"line 1 (header): {'; '.join(problems)} (rule: header_matches_registry)")

