"""`simulate advance` (issue #3 item 10) and the external feeds written beside the landing zone (item 7)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import pytest

from include.simulate import advance, generate, get_preset
from include.simulate.advance import landing_months
from include.simulate.defects import read_defects
from include.simulate.external import FEEDS
from include.simulate.landing import iter_submissions, read_manifest, tree_hashes, verify_submission


@pytest.fixture(scope="module")
def advanced(tmp_path_factory):
    root = tmp_path_factory.mktemp("advance")
    summary = generate(root / "landing", root / "gt", preset="tiny", seed=7)
    before = tree_hashes(root / "landing")
    ext_before = json.loads((root / "external" / "manifest.json").read_text(encoding="utf-8"))
    step = advance(root / "landing", root / "gt", preset="tiny", seed=7)
    return root, summary, before, ext_before, step


def test_advance_adds_exactly_one_month(advanced):
    root, summary, _, _, step = advanced
    months = landing_months(root / "landing")
    assert [m.isoformat() for m in months] == [*summary["periods"], "2026-01-31"]
    assert step["period"] == "2026-01-31" and not step["quarter_end"]
    new = [s for s in iter_submissions(root / "landing") if s.parent.name == "2026-01-31"]
    assert len(new) == step["submissions"] > 0
    assert all(verify_submission(s) == [] for s in new)
    assert "capital_report" not in step["rows"] and step["rows"]["transaction"] > 0


def test_existing_files_are_byte_identical(advanced):
    root, _, before, _, _ = advanced
    after = tree_hashes(root / "landing")
    assert {k: v for k, v in after.items() if k in before} == before
    assert all("/2026-01-31/" in k for k in set(after) - set(before))


def test_external_feeds_are_written_beside_the_landing_zone_and_advanced(advanced):
    root, summary, _, ext_before, step = advanced
    ext = root / "external"
    assert {f"{f}.jsonl" for f in FEEDS} <= {p.name for p in ext.iterdir()}
    assert not list((root / "landing").rglob("*.jsonl"))
    assert set(summary["external_records"]) == set(FEEDS) and summary["external_records"]["registry"] > 0
    assert ext_before["published_through"] == summary["periods"][-1]
    after = json.loads((ext / "manifest.json").read_text(encoding="utf-8"))
    assert after["published_through"] == step["period"]
    assert sum(step["external_records"].values()) >= sum(summary["external_records"].values())
    assert (root / "gt" / "external_news_labels.csv").is_file()


def test_advance_is_deterministic(advanced, tmp_path):
    root, *_ = advanced
    generate(tmp_path / "landing", tmp_path / "gt", preset="tiny", seed=7, external=False)
    advance(tmp_path / "landing", tmp_path / "gt", preset="tiny", seed=7, external=False)
    mine = {k: v for k, v in tree_hashes(tmp_path / "landing").items() if "/2026-01-31/" in k}
    theirs = {k: v for k, v in tree_hashes(root / "landing").items() if "/2026-01-31/" in k}
    assert mine == theirs and mine


def test_advance_into_a_quarter_end_brings_the_quarterly_reports(tmp_path):
    p = dataclasses.replace(get_preset("tiny"), name="tiny-nov", last_period=date(2025, 11, 30))
    generate(tmp_path / "landing", tmp_path / "gt", preset=p, seed=2, external=False)
    step = advance(tmp_path / "landing", tmp_path / "gt", preset=p, seed=2, defects="all", external=False)
    assert step["period"] == "2025-12-31" and step["quarter_end"]
    assert step["rows"]["capital_report"] > 0 and step["rows"].get("supervisory_rating", 0) >= 0
    d = read_defects(tmp_path / "gt")
    assert len(d) and set(d["period"]) == {"2025-12-31"}  # defects only in the new month
    manifests = [read_manifest(s) for s in iter_submissions(tmp_path / "landing") if "2025-12-31" in str(s)
                 and (s / "manifest.json").read_bytes().rstrip().endswith(b"}")]
    assert any(any(f["dataset"] == "capital_report" for f in m["files"]) for m in manifests)


def test_advance_needs_a_landing_zone(tmp_path):
    with pytest.raises(ValueError, match="generate first"):
        advance(tmp_path / "landing", tmp_path / "gt", preset="tiny", seed=7)
