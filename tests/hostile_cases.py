"""Hand-crafted hostile submissions (issue #14), one :class:`Case` each, for tests/test_hostile_input.py.

Every case is its own institution (``H<nnn>``) delivering small files, so the whole catalogue is
ingested in one loader run. A case says what must happen: ``manifest`` (the submission is refused as
a whole, ops.bad_manifest), ``rejected`` or ``quarantined`` (its batch), always with the named rule;
``accepted`` / ``duplicate`` / ``superseded`` for the controls (legitimate deliveries among them).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from include.registry.datasets import DATASETS
from simulator.ids import resident_id_check_char, uscc_check_char

PERIOD = "2025-03-31"
NEXT = "2025-04-30"


def resident_id(n: int) -> str:
    first = f"330106199001{n % 100:02d}{n % 1000:03d}"[:17]
    return first + resident_id_check_char(first)


def uscc(n: int) -> str:
    first = f"91330100{n:09d}"
    return first + uscc_check_char(first)


def capital(code: str, period: str = PERIOD, cet1: str = "900.00", total_rwa: str = "10000.00") -> list[str]:
    return [code, period, cet1, "1000.00", "1300.00", "8000.00", "500.00", "1500.00", total_rwa]


def institution(code: str, period: str = PERIOD, bureau: str = "ZJ", name: str = "某某城市商业银行",
                region: str = "330100") -> list[str]:
    n = int("".join(ch for ch in code if ch.isdigit()) or 0)
    return [code, period, f"L{code}", uscc(n), name, "city_commercial_bank", bureau, region, "3", "2001-05-01"]


def person(code: str, n: int = 1, period: str = PERIOD, birth: str = "1990-01-05") -> list[str]:
    return [code, period, f"C{n:05d}", resident_id(n), "张三", "男", birth, "13812345678", "330106", "2020-01-01"]


def csv_bytes(dataset: str, rows: list[list[str]], header: bool = True) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(DATASETS[dataset].column_names)
    w.writerows(rows)
    return buf.getvalue().encode()


@dataclass
class Sub:
    """A submission before it is written: edit ``manifest`` / ``files`` / ``folder`` freely."""

    code: str
    period: str = PERIOD
    version: int = 1
    files: dict[str, bytes] = field(default_factory=dict)  # file name -> bytes
    entries: list[dict] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)

    @property
    def sub_id(self) -> str:
        return f"{self.code}-{self.period.replace('-', '')}-v{self.version}"


def make(code: str, datasets: dict[str, list[list[str]] | bytes], *, period: str = PERIOD, version: int = 1,
         gz: bool = False) -> Sub:
    s = Sub(code, period, version)
    for ds, rows in datasets.items():
        data = rows if isinstance(rows, bytes) else csv_bytes(ds, rows)
        n = data.count(b"\n") - 1 if isinstance(rows, bytes) else len(rows)
        name = f"{ds}.csv" + (".gz" if gz else "")
        blob = gzip.compress(data) if gz else data
        s.files[name] = blob
        s.entries.append({"dataset": ds, "file": name, "encoding": "utf-8", "delimiter": ",",
                          "compression": "gzip" if gz else None, "rows": max(n, 0),
                          "sha256": hashlib.sha256(blob).hexdigest()})
    s.manifest = {"manifest_version": 1, "institution_code": code, "period": period, "submission_id": s.sub_id,
                  "version": version, "submitted_at": "2025-04-15T10:00:00+08:00", "files": s.entries}
    return s


def write(landing: Path, s: Sub, folder: Path | None = None, manifest_bytes: bytes | None = None,
          special: Callable[[Path], None] | None = None) -> Path:
    """Write the submission as delivered; return its folder."""
    folder = folder or landing / s.code / s.period / s.sub_id
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in s.files.items():
        (folder / name).write_bytes(blob)
    if special:
        special(folder)
    if manifest_bytes is not None:
        (folder / "manifest.json").write_bytes(manifest_bytes)
    elif not (folder / "manifest.json").exists() and not (folder / "manifest.json").is_symlink():
        (folder / "manifest.json").write_text(json.dumps(s.manifest, ensure_ascii=False))
    return folder


@dataclass
class Case:
    name: str
    expect: str  # manifest | rejected | quarantined | accepted | duplicate | superseded
    rule: str | None  # a rule name the reason (or a failed GX rule) must name
    build: Callable[[Path, Path, str], Path]  # (landing, outside, code) -> submission folder
    dataset: str = "capital_report"
    before: Callable[[Path, str], list[Path]] | None = None  # earlier deliveries (first run), -> folders
    admit: bool = True


CASES: list[Case] = []


def case(name: str, expect: str, rule: str | None, dataset: str = "capital_report", before=None, admit=True):
    def deco(fn):
        CASES.append(Case(name, expect, rule, fn, dataset, before, admit))
        return fn
    return deco


def _m(mutate: Callable[[Sub], None], datasets=None, **kw):
    """A capital submission with its manifest mutated."""
    def build(landing: Path, outside: Path, code: str) -> Path:
        s = make(code, datasets(code) if datasets else {"capital_report": [capital(code)]}, **kw)
        mutate(s)
        return write(landing, s)
    return build


def _set(key, value):
    return lambda s: s.manifest.__setitem__(key, value)


def _set_file(key, value):
    return lambda s: s.manifest["files"][0].__setitem__(key, value)


# ---------------------------------------------------------------- manifest: types, ranges, layout
for _name, _key, _value, _rule in [
    ("version 2^40", "version", 2**40, "version"),
    ("version 0", "version", 0, "version"),
    ("version as text", "version", "1", "version"),
    ("version null", "version", None, "version"),
    ("manifest_version 2", "manifest_version", 2, "manifest_version"),
    ("submitted_at prose", "submitted_at", "yesterday afternoon", "submitted_at"),
    ("submitted_at number", "submitted_at", 12345, "submitted_at"),
    ("submitted_at without offset", "submitted_at", "2025-04-15T10:00:00", "submitted_at"),
    ("submitted_at 10 kB", "submitted_at", "2025-04-15T10:00:00+08:00" + " " * 10000, "submitted_at"),
    ("files empty", "files", [], "files"),
    ("files not a list", "files", "capital_report.csv", "files"),
    ("institution_code with SQL", "institution_code", "I0001'; drop table ops.batch;--", "institution_code"),
    ("institution_code lower case", "institution_code", "h0001", "institution_code"),
    ("institution_code 40 chars", "institution_code", "H" * 40, "institution_code"),
    ("submission_id with a path", "submission_id", "../../etc", "submission_id"),
]:
    case(f"manifest: {_name}", "manifest", _rule)(_m(_set(_key, _value)))

for _name, _key, _value, _rule in [
    ("rows 10^19", "rows", 10**19, "rows"),
    ("rows negative", "rows", -1, "rows"),
    ("rows float", "rows", 1.5, "rows"),
    ("file with ../", "file", "../capital_report.csv", "plain name"),
    ("file absolute", "file", "/etc/passwd", "plain name"),
    ("file hidden", "file", ".capital_report.csv", "plain name"),
    ("file name 300 bytes", "file", "c" * 296 + ".csv", "file"),
    ("file name with NUL", "file", "capital\x00.csv", "plain name"),
    ("unknown dataset", "dataset", "pg_shadow", "unknown dataset"),
    ("encoding latin-1", "encoding", "latin-1", "encoding"),
    ("delimiter newline", "delimiter", "\n", "delimiter"),
    ("delimiter two chars", "delimiter", ";;", "delimiter"),
    ("sha256 not hex", "sha256", "z" * 64, "sha256"),
    ("compression zip", "compression", "zip", "compression"),
]:
    case(f"manifest: {_name}", "manifest", _rule)(_m(_set_file(_key, _value)))

for _name, _period, _rule in [
    ("period 2099", "2099-12-31", "future"),
    ("period mid-month", "2025-03-15", "period end"),
    ("period day.month text", "31.03.2025", "ISO date"),
    ("period 29 February 2025", "2025-02-29", "ISO date"),
    ("period before the calendar", "1999-12-31", "before the reporting calendar"),
    ("quarterly dataset at a month end", "2025-04-30", "quarter end"),
]:
    case(f"manifest: {_name}", "manifest", _rule)(
        lambda landing, outside, code, p=_period: write(
            landing, make(code, {"capital_report": [capital(code, p)]}, period=p)))


@case("manifest: same (institution, period, version) under another submission_id", "manifest", "submission_id")
def _(landing, outside, code):
    s = make(code, {"capital_report": [capital(code)]})
    s.manifest["submission_id"] = f"{code}-X-v1"
    return write(landing, s, folder=landing / code / PERIOD / f"{code}-X-v1")


@case("manifest: period folder named 20250331", "manifest", "path does not match")
def _(landing, outside, code):
    s = make(code, {"capital_report": [capital(code)]})
    return write(landing, s, folder=landing / code / "20250331" / s.sub_id)


@case("manifest: institution folder name with SQL", "manifest", "path does not match")
def _(landing, outside, code):
    s = make(code, {"capital_report": [capital(code)]})
    return write(landing, s, folder=landing / f"{code}'; drop table raw.loan;--" / PERIOD / s.sub_id)


@case("manifest: not JSON", "manifest", "not valid UTF-8 JSON")
def _(landing, outside, code):
    return write(landing, make(code, {"capital_report": [capital(code)]}), manifest_bytes=b"{not json")


@case("manifest: top level is a list", "manifest", "top level must be an object")
def _(landing, outside, code):
    return write(landing, make(code, {"capital_report": [capital(code)]}), manifest_bytes=b"[1, 2]")


@case("manifest: missing period", "manifest", "missing field")
def _(landing, outside, code):
    s = make(code, {"capital_report": [capital(code)]})
    del s.manifest["period"]
    return write(landing, s)


@case("manifest: dataset listed twice", "manifest", "listed twice")
def _(landing, outside, code):
    s = make(code, {"capital_report": [capital(code)]})
    s.manifest["files"] = s.manifest["files"] * 2
    return write(landing, s)


@case("manifest: 2 MB manifest", "manifest", "manifest_size")
def _(landing, outside, code):
    s = make(code, {"capital_report": [capital(code)]})
    s.manifest["padding"] = "x" * (2 << 20)
    return write(landing, s)


@case("manifest: a symbolic link to a manifest elsewhere", "manifest", "no_links")
def _(landing, outside, code):
    s = make(code, {"capital_report": [capital(code)]})
    target = outside / f"{code}-manifest.json"
    target.write_text(json.dumps(s.manifest))
    return write(landing, s, special=lambda f: (f / "manifest.json").symlink_to(target))


@case("manifest: a directory named manifest.json", "manifest", "regular_files_only")
def _(landing, outside, code):
    return write(landing, make(code, {"capital_report": [capital(code)]}),
                 special=lambda f: (f / "manifest.json").mkdir())


@case("manifest: unknown institution", "manifest", "institution_known", admit=False)
def _(landing, outside, code):
    return write(landing, make(code, {"capital_report": [capital(code)]}))


def _first_v1(landing: Path, code: str) -> list[Path]:
    return [write(landing, make(code, {"capital_report": [capital(code)]}))]


@case("manifest: submission_id reused with other content", "manifest", "submission_id_reused", before=_first_v1)
def _(landing, outside, code):
    s = make(code, {"capital_report": [capital(code, cet1="800.00")]})
    return write(landing.parent / "landing_again", s)


# ---------------------------------------------------------------- files
def _file(special: Callable[[Path, Path, str], None], datasets=None):
    def build(landing: Path, outside: Path, code: str) -> Path:
        s = make(code, datasets(code) if datasets else {"capital_report": [capital(code)]})
        s.files.clear()  # the special writes the data file itself
        return write(landing, s, special=lambda f: special(f, outside, code))
    return build


def _symlink_to(target: str | Callable[[Path, str], Path]):
    def special(folder: Path, outside: Path, code: str) -> None:
        t = target(outside, code) if callable(target) else Path(target)
        (folder / "capital_report.csv").symlink_to(t)
    return special


def _fifo(outside: Path, code: str) -> Path:
    p = outside / f"{code}.fifo"
    os.mkfifo(p)
    return p


def _secret(outside: Path, code: str) -> Path:
    p = outside / f"{code}-secret.csv"
    p.write_bytes(csv_bytes("capital_report", [capital(code)]))
    return p


case("file: missing", "rejected", "file_present")(_file(lambda f, o, c: None))
case("file: symlink to /etc/passwd", "rejected", "no_links")(_file(_symlink_to("/etc/passwd")))
case("file: symlink to /dev/zero", "rejected", "no_links")(_file(_symlink_to("/dev/zero")))
case("file: symlink to a FIFO", "rejected", "no_links")(_file(_symlink_to(_fifo)))
case("file: symlink to a matching file outside", "rejected", "no_links")(_file(_symlink_to(_secret)))
case("file: a FIFO", "rejected", "regular_files_only")(
    _file(lambda f, o, c: os.mkfifo(f / "capital_report.csv")))
case("file: a directory", "rejected", "regular_files_only")(
    _file(lambda f, o, c: (f / "capital_report.csv").mkdir()))


def _raw_capital(body: bytes, rows: int | None = None):
    """A capital submission whose file is ``body`` (``{code}`` replaced), declaring ``rows``."""
    def build(landing: Path, outside: Path, code: str) -> Path:
        data = body.replace(b"{code}", code.encode())
        s = make(code, {"capital_report": data})
        if rows is not None:
            s.entries[0]["rows"] = rows
        return write(landing, s)
    return build


HEADER = ",".join(DATASETS["capital_report"].column_names).encode()
ROW = ",".join(capital("{code}")).encode()

case("file: sha256 differs from the manifest", "rejected", "manifest_sha256")(
    _m(_set_file("sha256", "0" * 64)))
case("file: more rows than declared", "rejected", "manifest_row_count")(
    _raw_capital(HEADER + b"\n" + ROW + b"\n", rows=5))
case("file: header out of order", "rejected", "header_matches_registry")(
    _raw_capital(b",".join(reversed(HEADER.split(b","))) + b"\n" + ROW + b"\n"))
case("file: empty (no header)", "rejected", "header_matches_registry")(_raw_capital(b"", rows=0))
case("file: invalid UTF-8", "rejected", "well_formed")(_raw_capital(HEADER + b"\n" + ROW[:-3] + b"\xff\xfe\n"))
case("file: extra field in a row", "rejected", "well_formed")(_raw_capital(HEADER + b"\n" + ROW + b",x\n"))
case("file: unterminated quote", "rejected", "well_formed")(_raw_capital(HEADER + b"\n\"" + ROW + b"\n"))


@case("file: no header, a resident ID on line 1", "rejected", "header_matches_registry", dataset="customer_individual")
def _(landing, outside, code):
    data = csv_bytes("customer_individual", [person(code, 7)], header=False)
    s = make(code, {"customer_individual": data})
    s.entries[0]["rows"] = 1
    return write(landing, s)


def _gz(mutate: Callable[[bytes], bytes], rows: int = 1):
    def build(landing: Path, outside: Path, code: str) -> Path:
        s = make(code, {"capital_report": [capital(code)] * rows}, gz=True)
        name = "capital_report.csv.gz"
        s.files[name] = mutate(s.files[name])
        s.entries[0]["sha256"] = hashlib.sha256(s.files[name]).hexdigest()
        return write(landing, s)
    return build


case("file: corrupt gzip", "rejected", "gzip_integrity")(_gz(lambda b: b[:10] + b"\x00" * 8 + b[18:]))
case("file: truncated gzip", "rejected", "gzip_integrity")(_gz(lambda b: b[: len(b) // 2]))


@case("file: gzip bomb (200 MB of rows from 0.2 MB)", "rejected", "gzip_size_cap")
def _(landing, outside, code):
    line = ",".join(capital(code)).encode() + b"\n"
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [z.compress(HEADER + b"\n")]
    block = line * 20_000
    parts += [z.compress(block) for _ in range(140)]  # 2.8 M rows, never all in memory
    comp = b"".join(parts) + z.flush()
    s = make(code, {"capital_report": b""}, gz=True)
    s.files = {"capital_report.csv.gz": comp}
    s.entries[0].update(rows=2_800_000, sha256=hashlib.sha256(comp).hexdigest())
    return write(landing, s)
