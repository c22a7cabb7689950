"""The files of a submission's working copy: a data file held as text while defects are applied
(:class:`DataFile`), and writing the copy without touching the original (its files are hard links)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from include.registry.datasets import DATASETS, Dataset
from simulator.landing import read_data_file

Hit = tuple[int | None, str, str]  # (row index or None, expected rule, detail)


@dataclass
class DataFile:
    entry: dict  # the manifest entry (mutated in place)
    ds: Dataset
    header: list[str]
    rows: list[list[str]]
    raw_lines: dict[int, str] = field(default_factory=dict)  # row index -> line written verbatim
    write_encoding: str | None = None
    terminator: str = "\n"
    bom: bool = False
    keep_manifest_sha: bool = False
    rows_delta: int = 0
    post: Callable[[bytes], bytes] | None = None
    delete: bool = False

    def col(self, name: str) -> int:
        return self.header.index(name)

    def render(self) -> bytes:
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=",", quotechar='"', doublequote=True, quoting=csv.QUOTE_MINIMAL,
                       lineterminator=self.terminator)
        w.writerow(self.header)
        for i, r in enumerate(self.rows):
            if i in self.raw_lines:
                buf.write(self.raw_lines[i] + self.terminator)
            else:
                w.writerow(r)
        data = buf.getvalue().encode(self.write_encoding or self.entry["encoding"])
        if self.bom:
            data = b"\xef\xbb\xbf" + data
        if self.entry.get("compression") == "gzip":
            data = gzip.compress(data, compresslevel=6, mtime=0)
        sha = hashlib.sha256(data).hexdigest()
        if self.post is not None:
            data = self.post(data)
            if not self.keep_manifest_sha:
                sha = hashlib.sha256(data).hexdigest()
        if not self.keep_manifest_sha:
            self.entry["sha256"] = sha
        self.entry["rows"] = len(self.rows) + self.rows_delta
        return data



def load(tmp: Path, entry: dict) -> DataFile:
    header, rows = read_data_file(tmp / entry["file"], encoding=entry["encoding"], compression=entry["compression"],
                                  delimiter=entry["delimiter"])
    return DataFile(entry=entry, ds=DATASETS[entry["dataset"]], header=header, rows=rows)



def choose(rng, items):
    items = list(items)
    return items[int(rng.integers(len(items)))] if items else None



def swap_in(tmp: Path, final: Path) -> None:
    old = final.parent / f".{final.name}.old"
    if old.exists():
        shutil.rmtree(old)
    os.rename(final, old)
    os.rename(tmp, final)
    shutil.rmtree(old)


def replace_file(path: Path, data: bytes) -> None:
    """Write ``path`` as a new file: the working copy's files are hard links to the originals."""
    path.unlink(missing_ok=True)
    path.write_bytes(data)


def link_copy(src: Path, dst: Path) -> None:
    """A working copy of a submission folder; files are hard-linked (never written through, see
    :func:`replace_file`) where the file system allows it."""
    def link(a, b):
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)

    shutil.copytree(src, dst, copy_function=link)


def write_manifest(path: Path, manifest: dict) -> None:
    replace_file(path, (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
