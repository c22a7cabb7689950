"""The ground truth stays beside the landing zone and out of the pipeline; streaming is chunked and
gives the same files; output is deterministic; the README's dataset reference is current."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

import simulator.writer
from include.config import PROJECT_ROOT
from simulator import build_world, generate, write_world
from simulator.landing import iter_submissions, read_manifest, tree_hashes
from simulator.presets import Preset, get_preset

#: Where the pipeline lives. simulator writes the ground truth; include/cli/pipeline.py runs the
#: simulator; include/config.py only *defines* where the directory is (StatePaths.ground_truth).
PIPELINE_DIRS = ("include", "dags", "ml")
ALLOWED = {Path("include/cli/pipeline.py"), Path("include/config.py")}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("simgt")
    summary = generate(root / "landing", root / "ground_truth", preset="tiny", seed=5)
    return root, summary


def test_no_pipeline_module_reads_the_ground_truth():
    offenders = []
    for d in PIPELINE_DIRS:
        for path in sorted((PROJECT_ROOT / d).rglob("*.py")):
            rel = path.relative_to(PROJECT_ROOT)
            if rel.parts[:2] == ("include", "simulate") or rel in ALLOWED:
                continue
            text = path.read_text(encoding="utf-8")
            if "ground_truth" in text or re.search(r"simulate\s+import\s+ground_truth", text):
                offenders.append(str(rel))
    assert offenders == []


def test_config_only_defines_the_ground_truth_path():
    text = (PROJECT_ROOT / "include" / "config.py").read_text(encoding="utf-8")
    uses = [line for line in text.splitlines() if "ground_truth" in line]
    assert uses == ["    def ground_truth(self) -> Path:", '        return self.home / "ground_truth"']


def test_ground_truth_is_only_beside_the_landing_zone(run):
    root, _ = run
    landing, gt = root / "landing", root / "ground_truth"
    assert not gt.resolve().is_relative_to(landing.resolve())
    names = {p.name for p in landing.rglob("*")}
    assert not {n for n in names if "ground" in n or "latent" in n or "hard_neg" in n or "scheme" in n}
    for sub in iter_submissions(landing):  # submissions hold registered datasets and nothing else
        files = read_manifest(sub)["files"]
        assert {p.name for p in sub.iterdir()} == {"manifest.json"} | {f["file"] for f in files}


def test_ground_truth_lists_schemes_negatives_and_events(run):
    root, summary = run
    gt = root / "ground_truth"
    truth = json.loads((gt / "ground_truth.json").read_text(encoding="utf-8"))
    p = get_preset("tiny")
    assert len(truth["schemes"]) == p.n_schemes == summary["schemes"]
    for s in truth["schemes"]:
        assert s["collection_accounts"] and s["controller_accounts"] and s["n_investors"] > 0
        assert s["months_active_in_window"]
    assert truth["planted"]["hard_negatives"]["payroll"] == p.n_payroll
    assert truth["planted"]["hard_negatives"]["merchant"] == p.n_merchants
    events = {e["event"] for e in truth["institution_events"]}
    assert {"deterioration_onset", "designated_high_risk"} <= events
    assert len(truth["guarantee_circles"]) == p.n_guarantee_circles
    for name in ("latent_health.csv", "hard_negatives.csv", "scheme_investors.csv", "institution_events.csv"):
        assert (gt / name).is_file(), name


def test_same_seed_gives_identical_landing_and_ground_truth(tmp_path):
    generate(tmp_path / "a" / "landing", tmp_path / "a" / "gt", preset="tiny", seed=3)
    generate(tmp_path / "b" / "landing", tmp_path / "b" / "gt", preset="tiny", seed=3)
    a, b = tree_hashes(tmp_path / "a"), tree_hashes(tmp_path / "b")
    assert len(a) > 100 and a == b
    assert any(k.startswith("gt/") for k in a)


def test_streaming_is_chunked_by_month_and_gives_the_same_files(tmp_path, run):
    root, summary = run
    streamed = dataclasses.replace(get_preset("tiny"), name="tiny-streamed", stream_transactions=True)
    world = build_world(streamed, seed=5)
    assert "transaction" not in world.frames  # never all transactions at once
    month = world.transactions(3)
    assert set(month["report_period"].dt.date) == {world.months[3]}
    written = write_world(world, tmp_path / "landing", tmp_path / "gt")
    per_month = summary["rows"]["transaction"] / len(world.months)
    assert 0 < written["peak_transaction_chunk_rows"] <= 1.5 * per_month
    assert written["rows"] == summary["rows"]
    assert tree_hashes(tmp_path / "landing") == tree_hashes(root / "landing")


def test_streaming_loans_keeps_no_month_by_loan_frames_and_gives_the_same_run(tmp_path, run, monkeypatch):
    """The ``large`` path (transactions, loan and guarantee snapshots made a month at a time while
    writing; big months formatted one submission at a time) on tiny: nothing month-by-loan stays in the
    world, and landing, ground truth and external feeds are byte-identical to the in-memory run (the
    prudential reports' loan figures, the under-classified loans and the firms' first overdue month come
    from the month-by-month pass)."""
    root, _ = run
    monkeypatch.setattr(simulator.writer, "BIG_MONTH_ROWS", 100)  # tiny's transactions, loans, customers, accounts
    assert get_preset("large").stream_transactions and get_preset("large").stream_loans
    streamed = dataclasses.replace(get_preset("tiny"), stream_transactions=True, stream_loans=True)
    world = build_world(streamed, seed=5)
    assert not {"transaction", "loan", "guarantee"} & set(world.frames)
    loan, guarantee = world.loans(3)
    assert len(loan) and set(loan["report_period"].dt.date) == set(guarantee["report_period"].dt.date) \
        == {world.months[3]}
    generate(tmp_path / "landing", tmp_path / "ground_truth", preset=streamed, seed=5, external=True)
    assert tree_hashes(tmp_path) == tree_hashes(root)


def test_summary_reports_throughput(run):
    _, summary = run
    for key in ("preset", "seed", "periods", "institutions", "rows", "submissions", "files", "bytes", "seconds",
                "capital_breaches", "transactions_per_second"):
        assert key in summary, key
    assert summary["transactions_per_second"] > 0


def test_readme_knob_table_lists_every_preset_field_with_its_default():
    text = (PROJECT_ROOT / "simulator" / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| knob |"):text.index("### Measured")]
    rows = {}
    for line in table.splitlines()[2:]:
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            for i, name in enumerate(re.findall(r"`(\w+)`", cells[0])):
                rows[name] = [c.split(", ")[i] if ", " in c else c for c in cells[1:5]]
    fields = {f.name: f for f in dataclasses.fields(Preset)}
    assert set(rows) == set(fields) - {"name"}
    for name, (default, *others) in rows.items():
        for preset, cell in zip(("small", "medium", "large"), others, strict=True):
            value = getattr(get_preset(preset), name)
            if cell:  # blank: the default
                assert cell.replace(",", "") == str(value).lower(), (name, preset, cell, value)
            else:
                assert value == getattr(get_preset("tiny"), name), (name, preset)
        if default != "-":
            want = getattr(get_preset("tiny"), name)
            assert default.strip("`\"").replace(",", "") in (str(want).lower(), f"{want:.2f}" if isinstance(want, float)
                                                             else str(want)), (name, default, want)
