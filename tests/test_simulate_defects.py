"""Defect injection (issue #3 item 8): every kind planted and recorded, with outcomes the pipeline can produce."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

from include.registry.datasets import DATASETS
from simulator import generate
from simulator.defects import (
    CATALOGUE,
    DEFECT_COLUMNS,
    LOADER_RULES,
    MANIFEST_RULES,
    OUTCOMES,
    DefectConfig,
    read_defects,
    resolve,
)
from simulator.ids import is_valid_resident_id, is_valid_uscc
from simulator.landing import iter_submissions, read_manifest, sha256_file, tree_hashes

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("defects")
    summary = generate(root / "landing", root / "gt", preset="tiny", seed=7,
                       defects=DefectConfig.every_kind(rate=0.02, min_each=1), external=False)
    return root, summary, read_defects(root / "gt")


def test_catalogue_has_at_least_30_kinds_with_known_outcomes():
    assert len(CATALOGUE) >= 30
    for k in CATALOGUE.values():
        assert k.outcome in OUTCOMES and k.description and k.level in ("row", "file", "submission")
    assert all(v == 0 for v in resolve(None).rates.values())
    assert not resolve("none").enabled and resolve("default").enabled


def test_every_kind_appears_and_is_recorded_with_file_and_line(run):
    _, summary, d = run
    assert list(d.columns) == list(DEFECT_COLUMNS)
    assert set(d["kind"]) == set(CATALOGUE), set(CATALOGUE) - set(d["kind"])
    assert summary["defects"] == d["kind"].value_counts().to_dict()
    assert (d["file"] != "").all() and (d["submission_id"] != "").all()
    rows = d[d["kind"].map(lambda k: CATALOGUE[k].level == "row")]
    assert (rows["line"] != "").all()
    assert (rows["line"].astype(int) == rows["record"].astype(int) + 1).all()
    assert (rows["line"].astype(int) >= 2).all()


def test_expected_rules_are_ones_the_pipeline_can_produce(run):
    _, _, d = run
    loader_src = "".join((PROJECT_ROOT / "include/ingest" / f).read_text(encoding="utf-8")
                         for f in ("loader.py", "ledger.py", "files.py"))
    manifest_src = (PROJECT_ROOT / "include/ingest/contract.py").read_text(encoding="utf-8")
    for r in d.itertuples(index=False):
        assert r.expected_outcome == CATALOGUE[r.kind].outcome
        if r.expected_outcome == "rejected":
            if r.expected_rule in MANIFEST_RULES:
                assert MANIFEST_RULES[r.expected_rule] in manifest_src
            else:
                assert r.expected_rule in LOADER_RULES, r
                assert LOADER_RULES[r.expected_rule] in loader_src
                assert r.expected_rule.startswith("well_formed_") or f"rule: {r.expected_rule}" in loader_src \
                    or r.expected_rule == "gzip_integrity"
        elif r.expected_outcome in ("quarantined", "accepted_with_warning"):
            ds = DATASETS[r.dataset]
            severity = "critical" if r.expected_outcome == "quarantined" else "warning"
            if r.expected_rule.startswith("type_"):
                col = r.expected_rule[len("type_"):]
                assert ds.column(col).pg_type != "text" and severity == "critical"
            else:
                rule = next(x for x in ds.rules if x.name == r.expected_rule)
                assert rule.severity == severity, r
        else:
            assert r.expected_rule == "", r


def _entry(sub: Path, file: str) -> dict:
    return next(f for f in read_manifest(sub)["files"] if f["file"] == file)


def _rows(sub: Path, entry: dict) -> list[list[str]]:
    opener = gzip.open if entry["compression"] == "gzip" else open
    with opener(sub / entry["file"], "rt", encoding=entry["encoding"], newline="") as fh:
        return list(csv.reader(fh))


def test_loader_checks_fire_where_the_ground_truth_says(run):
    """The pre-COPY checks, with the loader's own functions (no database)."""
    pytest.importorskip("psycopg")
    from include.ingest.contract import FileEntry, ManifestError, parse_manifest
    from include.ingest.files import LoadError, _byte_stream, _split_header, check_header

    root, _, d = run
    landing = root / "landing"
    for r in d[d["expected_outcome"] == "rejected"].itertuples(index=False):
        sub = landing / r.institution_code / r.period / r.submission_id
        if r.expected_rule in MANIFEST_RULES:
            with pytest.raises(ManifestError, match=MANIFEST_RULES[r.expected_rule]):
                parse_manifest(sub / "manifest.json")
            continue
        parse_manifest(sub / "manifest.json")
        e = _entry(sub, r.file)
        path = sub / r.file
        if r.expected_rule == "file_present":
            assert not path.exists()
            continue
        if r.expected_rule == "manifest_sha256":
            assert sha256_file(path) != e["sha256"]
            continue
        assert sha256_file(path) == e["sha256"], r
        entry = FileEntry.model_validate(e)
        if r.expected_rule == "gzip_integrity":
            with pytest.raises(LoadError, match="corrupt gzip"):
                b"".join(_byte_stream(path, entry.compression))
            continue
        header, _ = _split_header(_byte_stream(path, entry.compression))
        if r.expected_rule == "header_matches_registry":
            with pytest.raises(LoadError, match="header_matches_registry"):
                check_header(header, entry, DATASETS[r.dataset])
            continue
        check_header(header, entry, DATASETS[r.dataset])
        body = b"".join(_byte_stream(path, entry.compression))
        if r.expected_rule == "manifest_row_count":
            assert len(_rows(sub, e)) - 1 != e["rows"]
        elif r.kind == "wrong_declared_encoding":
            line = body.split(b"\n")[int(r.line) - 1]
            with pytest.raises(UnicodeDecodeError):
                line.decode("utf-8")
        elif r.kind == "unquoted_delimiter":
            line = body.split(b"\n")[int(r.line) - 1].decode(e["encoding"])
            assert len(next(csv.reader([line]))) == len(DATASETS[r.dataset].column_names) + 1
        else:
            raise AssertionError(f"unchecked rejection {r}")


def test_files_without_defects_stay_consistent_and_accepted_oddities_pass_the_header_check(run):
    pytest.importorskip("psycopg")
    from include.ingest.contract import FileEntry
    from include.ingest.files import _byte_stream, _split_header, check_header

    root, _, d = run
    touched = set(zip(d["submission_id"], d["file"], strict=True))
    refused = set(d.loc[d["expected_rule"].isin(list(MANIFEST_RULES)), "submission_id"])
    n = 0
    for sub in iter_submissions(root / "landing"):
        if sub.name in refused:
            continue
        m = read_manifest(sub)
        for e in m["files"]:
            if (m["submission_id"], e["file"]) in touched and \
                    d.loc[(d["submission_id"] == m["submission_id"]) & (d["file"] == e["file"]),
                          "expected_outcome"].iloc[0] == "rejected":
                continue
            assert sha256_file(sub / e["file"]) == e["sha256"], (sub, e["file"])
            assert len(_rows(sub, e)) - 1 == e["rows"], (sub, e["file"])
            entry = FileEntry.model_validate(e)
            header, _ = _split_header(_byte_stream(sub / e["file"], entry.compression))
            check_header(header, entry, DATASETS[e["dataset"]])
            n += 1
    assert n > 500


def test_row_defects_are_at_the_recorded_line(run):
    root, _, d = run
    for r in d[d["kind"].isin(["bad_uscc_check", "bad_resident_id_check", "invalid_five_category"])].itertuples():
        sub = root / "landing" / r.institution_code / r.period / r.submission_id
        e = _entry(sub, r.file)
        rows = _rows(sub, e)
        row = dict(zip(rows[0], rows[int(r.line) - 1], strict=True))
        col = r.detail.split(":")[0]
        if r.kind == "bad_uscc_check":
            assert not is_valid_uscc(row[col])
        elif r.kind == "bad_resident_id_check":
            assert not is_valid_resident_id(row[col])
        else:
            assert row["five_category"] == "不良"


def test_resubmission_writes_a_consistent_v2_and_late_ones_are_late(run):
    root, _, d = run
    from simulator.landing import verify_submission

    for r in d[d["kind"] == "resubmission_corrected"].itertuples():
        v1 = root / "landing" / r.institution_code / r.period / r.submission_id
        v2 = v1.parent / r.submission_id.replace("-v1", "-v2")
        assert verify_submission(v2) == []
        assert verify_submission(v1) == []  # v1 is consistent, just incomplete
        assert _entry(v2, r.file)["rows"] == _entry(v1, r.file)["rows"] + 1
        assert read_manifest(v2)["submitted_at"] > read_manifest(v1)["submitted_at"]
    for r in d[d["kind"] == "late_submission"].itertuples():
        m = read_manifest(root / "landing" / r.institution_code / r.period / r.submission_id)
        from datetime import date, datetime
        lag = (datetime.fromisoformat(m["submitted_at"]).date() - date.fromisoformat(r.period)).days
        assert lag > 30


def test_default_generate_has_no_defects(tmp_path):
    generate(tmp_path / "landing", tmp_path / "gt", preset="tiny", seed=7, external=False)
    assert read_defects(tmp_path / "gt").empty
    from simulator.landing import verify_submission

    assert all(verify_submission(s) == [] for s in iter_submissions(tmp_path / "landing"))


def test_defects_are_deterministic_per_seed(run, tmp_path):
    root, _, d = run
    generate(tmp_path / "landing", tmp_path / "gt", preset="tiny", seed=7,
             defects=DefectConfig.every_kind(rate=0.02, min_each=1), external=False)
    assert read_defects(tmp_path / "gt").equals(d)
    assert tree_hashes(tmp_path / "landing") == tree_hashes(root / "landing")


def test_default_rates_are_a_few_percent(tmp_path):
    summary = generate(tmp_path / "landing", tmp_path / "gt", preset="tiny", seed=3, defects="default",
                       external=False)
    n = sum(summary["defects"].values())
    assert 0 < n < 0.15 * summary["files"]
    assert json.loads(json.dumps(summary["defects"]))  # serialisable
