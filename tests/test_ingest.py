"""Ingest guarantees, against the real warehouse: nothing lost, nothing twice, nothing partial."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
from pathlib import Path

import pytest

from include.datasets import CAPITAL_REPORT
from include.ingest.loader import ingest_manifests

PERIOD = "2025-03-31"
_codes = itertools.count(1)


def capital_rows(code: str, total_capital: str = "1300.00") -> list[list[str]]:
    return [[code, PERIOD, "900.00", "1000.00", total_capital, "8000.00", "500.00", "1500.00", "10000.00"]]


def submit(landing: Path, code: str, rows: list[list[str]], version: int = 1, *, declared_rows: int | None = None,
           raw: bytes | None = None) -> Path:
    """Write a capital_report submission the way an institution delivers it; return its manifest."""
    sub_id = f"{code}-{PERIOD.replace('-', '')}-v{version}"
    folder = landing / code / PERIOD / sub_id
    folder.mkdir(parents=True)
    if raw is None:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(CAPITAL_REPORT.column_names)
        w.writerows(rows)
        raw = buf.getvalue().encode()
    (folder / "capital_report.csv").write_bytes(raw)
    manifest = {
        "manifest_version": 1, "institution_code": code, "period": PERIOD, "submission_id": sub_id,
        "version": version, "submitted_at": "2025-04-15T10:00:00+08:00",
        "files": [{"dataset": "capital_report", "file": "capital_report.csv", "encoding": "utf-8",
                   "delimiter": ",", "compression": None,
                   "rows": len(rows) if declared_rows is None else declared_rows,
                   "sha256": hashlib.sha256(raw).hexdigest()}],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder / "manifest.json"


@pytest.fixture
def code() -> str:
    return f"T{next(_codes):04d}"


def _raw_count(warehouse, code: str) -> int:
    with warehouse.connect() as conn:
        return conn.execute("select count(*) from raw.capital_report where institution_code = %s",
                            (code,)).fetchone()[0]


def _statuses(warehouse, code: str) -> list[tuple[int, str]]:
    with warehouse.connect() as conn:
        return conn.execute("select s.version, b.status from ops.batch b join ops.submission s using (submission_id) "
                            "where s.institution_code = %s order by s.version, b.batch_id", (code,)).fetchall()


def test_clean_submission_is_accepted_with_lineage(warehouse, tmp_path, code):
    m = submit(tmp_path, code, capital_rows(code))
    (out,) = ingest_manifests(warehouse.role_url("loader"), [m], warehouse.state)
    assert out.status == "accepted"
    with warehouse.connect() as conn:
        row = conn.execute("select total_capital, _line, _file_sha256 from raw.capital_report "
                           "where institution_code = %s", (code,)).fetchone()
    assert row[0] == 1300 and row[1] == 1 and row[2] == hashlib.sha256((m.parent / "capital_report.csv")
                                                                       .read_bytes()).hexdigest()
    archived = list(warehouse.state.archive.rglob(f"{row[2]}*"))
    assert len(archived) == 1 and archived[0].read_bytes() == (m.parent / "capital_report.csv").read_bytes()


def test_same_file_delivered_twice_loads_once(warehouse, tmp_path, code):
    rows = capital_rows(code)
    first = submit(tmp_path / "a", code, rows)
    ingest_manifests(warehouse.role_url("loader"), [first], warehouse.state)
    again = submit(tmp_path / "b", code, rows, version=2)  # same bytes, new submission
    (out,) = ingest_manifests(warehouse.role_url("loader"), [again], warehouse.state)
    assert out.status == "duplicate"
    assert _raw_count(warehouse, code) == 1


def test_rerunning_an_ingested_submission_changes_nothing(warehouse, tmp_path, code):
    m = submit(tmp_path, code, capital_rows(code))
    ingest_manifests(warehouse.role_url("loader"), [m], warehouse.state)
    assert ingest_manifests(warehouse.role_url("loader"), [m], warehouse.state) == []
    assert _raw_count(warehouse, code) == 1


def test_version_two_supersedes_version_one_which_stays_queryable(warehouse, tmp_path, code):
    v1 = submit(tmp_path, code, capital_rows(code, "1300.00"))
    ingest_manifests(warehouse.role_url("loader"), [v1], warehouse.state)
    v2 = submit(tmp_path, code, capital_rows(code, "1250.00"), version=2)
    ingest_manifests(warehouse.role_url("loader"), [v2], warehouse.state)
    assert _statuses(warehouse, code) == [(1, "superseded"), (2, "accepted")]
    with warehouse.connect() as conn:
        kept = conn.execute("select r.total_capital, b.status from raw.capital_report r join ops.batch b "
                            "on b.batch_id = r._batch_id where r.institution_code = %s order by 1",
                            (code,)).fetchall()
    assert [(float(a), s) for a, s in kept] == [(1250.0, "accepted"), (1300.0, "superseded")]


def test_malformed_file_is_rejected_with_its_line_and_the_rest_of_the_group_loads(warehouse, tmp_path, code):
    good_code = code + "G"
    good = submit(tmp_path, good_code, capital_rows(good_code))
    header = ",".join(CAPITAL_REPORT.column_names)
    raw = f"{header}\n{','.join(capital_rows(code)[0])}\n{','.join(capital_rows(code)[0])},extra\n".encode()
    bad = submit(tmp_path, code, [], declared_rows=2, raw=raw)
    outs = {o.status: o for o in ingest_manifests(warehouse.role_url("loader"), [good, bad], warehouse.state)}
    assert set(outs) == {"accepted", "rejected"}
    assert "line 3" in outs["rejected"].reason and "capital_report.csv" in outs["rejected"].reason
    assert _raw_count(warehouse, code) == 0 and _raw_count(warehouse, good_code) == 1


def test_wrong_row_count_in_manifest_is_rejected(warehouse, tmp_path, code):
    m = submit(tmp_path, code, capital_rows(code), declared_rows=5)
    (out,) = ingest_manifests(warehouse.role_url("loader"), [m], warehouse.state)
    assert out.status == "rejected" and "manifest_row_count" in out.reason
    assert _raw_count(warehouse, code) == 0


def test_critical_failure_quarantines_the_batch_and_records_the_rule(warehouse, tmp_path, code):
    m = submit(tmp_path, code, capital_rows(code, "-5.00"))
    (out,) = ingest_manifests(warehouse.role_url("loader"), [m], warehouse.state)
    assert out.status == "quarantined" and "capital_non_negative" in out.reason
    with warehouse.connect() as conn:
        assert conn.execute("select count(*) from quarantine.capital_report where institution_code = %s",
                            (code,)).fetchone()[0] == 1
        failed = conn.execute("select d.rule_name from ops.dq_result d join ops.batch b using (batch_id) "
                              "join ops.submission s using (submission_id) where s.institution_code = %s "
                              "and not d.success", (code,)).fetchall()
    assert failed == [("capital_non_negative",)]
    assert _raw_count(warehouse, code) == 0


def test_a_batch_interrupted_after_loading_is_finished_by_the_rerun(warehouse, tmp_path, code):
    """Simulate a crash after COPY committed (batch 'loaded', landing table left behind)."""
    from include.ingest import loader

    m = submit(tmp_path, code, capital_rows(code))
    real = loader.validate_group

    def crash(*a, **kw):
        raise KeyboardInterrupt("killed")

    loader.validate_group = crash
    try:
        with pytest.raises(KeyboardInterrupt):
            ingest_manifests(warehouse.role_url("loader"), [m], warehouse.state)
    finally:
        loader.validate_group = real
    assert _statuses(warehouse, code) == [(1, "loaded")] and _raw_count(warehouse, code) == 0
    from include.ingest.loader import pending_manifests

    assert m in pending_manifests(warehouse.role_url("loader"), tmp_path)
    (out,) = ingest_manifests(warehouse.role_url("loader"), [m], warehouse.state)
    assert out.status == "accepted" and _raw_count(warehouse, code) == 1


def test_identical_files_verified_together_load_once(warehouse, tmp_path, code):
    """A resubmission's unchanged file, processed in the same run as the original, is a duplicate."""
    rows = capital_rows(code)
    v1 = submit(tmp_path / "a", code, rows)
    v2 = submit(tmp_path / "b", code, rows, version=2)
    outs = ingest_manifests(warehouse.role_url("loader"), [v1, v2], warehouse.state)
    assert sorted(o.status for o in outs) == ["accepted", "duplicate"]
    assert _raw_count(warehouse, code) == 1
