"""The simulator core: universe, prudential datasets, landing-zone writer, generate()."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from include.ingest.contract import CST, MANIFEST_KEYS
from include.registry.datasets import CAPITAL_REPORT, DATASETS, INSTITUTION, INSTITUTION_TYPES
from simulator import build_world, generate, ids
from simulator.landing import (
    format_frame,
    iter_submissions,
    read_data_file,
    read_manifest,
    verify_submission,
    write_submission,
)
from simulator.rng import stream
from simulator.universe import allocate_type_counts, build_universe


@pytest.fixture(scope="module")
def tiny_world():
    return build_world("tiny", seed=7)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("sim")
    summary = generate(root / "landing", root / "ground_truth", preset="tiny", seed=7)
    return root / "landing", root / "ground_truth", summary


def _capital_rows(landing: Path) -> list[dict[str, str]]:
    out = []
    for sub in iter_submissions(landing):
        for f in read_manifest(sub)["files"]:
            if f["dataset"] == "capital_report":
                header, rows = read_data_file(sub / f["file"], encoding=f["encoding"],
                                              compression=f["compression"])
                out += [dict(zip(header, r, strict=True)) for r in rows]
    return out


def _file_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# ----- universe -------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [9, 10, 12, 80])
def test_every_institution_type_is_present(n):
    inst = build_universe(stream(1, "universe"), n).institutions
    assert set(inst["institution_type"]) == set(INSTITUTION_TYPES)
    assert len(inst) == n


def test_type_proportions_favour_small_banks():
    counts = allocate_type_counts(500)
    assert counts["large_state_bank"] <= 6
    assert counts["village_bank"] + counts["rural_commercial_bank"] > 0.5 * 500
    assert counts["large_state_bank"] < counts["joint_stock_bank"] < counts["city_commercial_bank"]


def test_institution_identifiers_are_valid_and_unique(tiny_world):
    inst = tiny_world.universe.institutions
    assert inst["uscc"].map(lambda c: ids.is_valid_uscc(c, check_org_code=True)).all()
    assert inst["lei"].map(ids.is_valid_lei).all()
    assert inst["licence_no"].map(ids.is_valid_licence_no).all()
    for col in ("institution_code", "uscc", "lei", "licence_no", "name"):
        assert inst[col].is_unique, col


def test_size_tiers_follow_type():
    inst = build_universe(stream(3, "universe"), 200).institutions
    tiers = inst.groupby("institution_type")["size_tier"].agg(["min", "max"])
    assert (tiers.loc["large_state_bank"] == 1).all()
    assert (tiers.loc["village_bank"] == 5).all()
    assert inst["size_tier"].between(1, 5).all()


def test_institutions_sit_under_known_bureaus(tiny_world):
    bureaus = set(tiny_world.universe.bureaus["bureau_code"])
    assert len(bureaus) >= 8
    assert set(tiny_world.universe.institutions["bureau_code"]) <= bureaus


# ----- prudential -------------------------------------------------------------------------------------


def test_capital_report_columns_equal_registry_in_order(tiny_world):
    assert list(tiny_world.frames["capital_report"].columns) == CAPITAL_REPORT.column_names


def test_institution_columns_equal_registry_in_order(tiny_world):
    assert list(tiny_world.frames["institution"].columns) == INSTITUTION.column_names


def test_insurers_submit_no_capital_report(tiny_world):
    inst = tiny_world.universe.institutions
    insurers = set(inst.loc[inst["institution_type"] == "insurer", "institution_code"])
    reporters = set(tiny_world.frames["capital_report"]["institution_code"])
    assert insurers and not insurers & reporters
    assert reporters == set(inst["institution_code"]) - insurers


def test_capital_tiers_are_ordered(tiny_world):
    cap = tiny_world.frames["capital_report"]
    assert (cap["cet1_capital"] <= cap["tier1_capital"]).all()
    assert (cap["tier1_capital"] <= cap["total_capital"]).all()


def test_total_rwa_is_sum_of_components(tiny_world):
    cap = tiny_world.frames["capital_report"]
    assert (cap["credit_rwa"] + cap["market_rwa"] + cap["operational_rwa"] == cap["total_rwa"]).all()


@pytest.fixture(scope="module")
def small_world():
    return build_world("small", seed=11)


def test_rwa_magnitude_follows_size_tier(small_world):
    # RWA derives from the simulated loan book (a miniature economy), so only the ordering by size
    # tier and a wide spread are asserted, not national-scale magnitudes.
    cap = small_world.frames["capital_report"].merge(small_world.universe.institutions[["institution_code",
                                                                                        "size_tier"]])
    rwa_cny = cap.groupby("size_tier")["total_rwa"].median() / 100
    assert rwa_cny.is_monotonic_decreasing
    assert rwa_cny.loc[1] > 20 * rwa_cny.loc[5]


def test_most_cars_are_between_11_and_16_percent(small_world):
    cap = small_world.frames["capital_report"]
    car = cap["total_capital"] / cap["total_rwa"]
    assert car.between(0.105, 0.16).mean() > 0.8


def test_planted_institutions_end_below_the_car_minimum_and_others_never_do(tiny_world):
    cap = tiny_world.frames["capital_report"]
    car = (cap["total_capital"] / cap["total_rwa"]).to_numpy()
    planted = set(np.array(tiny_world.health.codes)[tiny_world.health.deteriorating])
    is_planted = cap["institution_code"].isin(planted).to_numpy()
    last = (cap["report_period"] == cap["report_period"].max()).to_numpy()
    assert planted
    assert (car[is_planted & last] < 0.105).all()
    assert (car[~is_planted] >= 0.105).all()


def test_planted_institutions_deteriorate_over_quarters(tiny_world):
    cap = tiny_world.frames["capital_report"]
    planted = np.array(tiny_world.health.codes)[tiny_world.health.deteriorating]
    for code in planted:
        rows = cap[cap["institution_code"] == code].sort_values("report_period")
        car = (rows["total_capital"] / rows["total_rwa"]).to_numpy()
        assert car[-1] < car[0]


# ----- landing writer --------------------------------------------------------------------------------


def test_money_is_written_as_plain_decimals():
    frame = pd.DataFrame({
        "institution_code": ["X0001"], "report_period": [date(2025, 12, 31)],
        "cet1_capital": [123456789012345678], "tier1_capital": [5], "total_capital": [-250],
        "credit_rwa": [100], "market_rwa": [0], "operational_rwa": [1], "total_rwa": [101],
    })
    row = format_frame(frame, "capital_report").iloc[0].tolist()
    assert row == ["X0001", "2025-12-31", "1234567890123456.78", "0.05", "-2.50", "1.00", "0.00", "0.01",
                   "1.01"]


def test_null_is_written_as_empty_field(tiny_world):
    frame = tiny_world.frames["institution"].head(2).copy()
    frame["established_date"] = [None, date(2001, 2, 3)]
    out = format_frame(frame, "institution")
    assert out["established_date"].tolist() == ["", "2001-02-03"]


def test_fields_with_commas_and_quotes_are_rfc4180_quoted(tmp_path, tiny_world):
    frame = tiny_world.frames["institution"].head(1).copy()
    frame["name"] = ['甲,乙 "丙" 公司']
    sub = write_submission(tmp_path, "B0001", date(2025, 12, 31), 1, datetime(2026, 1, 5, 10, tzinfo=CST),
                           {"institution": frame})
    text = (sub / "institution.csv").read_text(encoding="utf-8")
    assert '"甲,乙 ""丙"" 公司"' in text
    assert read_data_file(sub / "institution.csv")[1][0][4] == '甲,乙 "丙" 公司'


def test_gb18030_and_gzip_files_round_trip(tmp_path, tiny_world):
    frame = tiny_world.frames["institution"].head(3)
    sub = write_submission(tmp_path, "B0001", date(2025, 12, 31), 1, datetime(2026, 1, 5, 10, tzinfo=CST),
                           {"institution": frame}, encoding="gb18030", compression="gzip")
    raw = gzip.decompress((sub / "institution.csv.gz").read_bytes())
    assert raw.decode("gb18030").splitlines()[0] == ",".join(INSTITUTION.column_names)
    assert read_data_file(sub / "institution.csv.gz", encoding="gb18030", compression="gzip")[1][0][4] == \
        frame["name"].iloc[0]


def test_submission_leaves_no_temporary_directory(tmp_path, tiny_world):
    write_submission(tmp_path, "B0001", date(2025, 12, 31), 1, datetime(2026, 1, 5, 10, tzinfo=CST),
                     {"institution": tiny_world.frames["institution"].head(1)})
    period_dir = tmp_path / "B0001" / "2025-12-31"
    assert [p.name for p in period_dir.iterdir()] == ["B0001-20251231-v1"]


def test_rewriting_a_submission_with_different_content_is_refused(tmp_path, tiny_world):
    frame = tiny_world.frames["institution"].head(1)
    when = datetime(2026, 1, 5, 10, tzinfo=CST)
    write_submission(tmp_path, "B0001", date(2025, 12, 31), 1, when, {"institution": frame})
    write_submission(tmp_path, "B0001", date(2025, 12, 31), 1, when, {"institution": frame})  # identical: ok
    with pytest.raises(FileExistsError):
        write_submission(tmp_path, "B0001", date(2025, 12, 31), 1, when, {"institution": frame.head(0)})


# ----- generate() -------------------------------------------------------------------------------------


def test_every_submission_is_consistent_with_its_manifest(tiny_run):
    landing, _, _ = tiny_run
    subs = list(iter_submissions(landing))
    assert subs
    assert {str(s): verify_submission(s) for s in subs} == {str(s): [] for s in subs}


def test_manifest_sha256_and_rows_match_files(tiny_run):
    landing, _, _ = tiny_run
    for sub in iter_submissions(landing):
        for f in read_manifest(sub)["files"]:
            data = (sub / f["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == f["sha256"]
            _, rows = read_data_file(sub / f["file"], encoding=f["encoding"], compression=f["compression"])
            assert len(rows) == f["rows"]


def test_manifest_has_exactly_the_contract_keys(tiny_run):
    landing, _, _ = tiny_run
    sub = next(iter_submissions(landing))
    m = read_manifest(sub)
    assert tuple(m) == MANIFEST_KEYS
    assert m["manifest_version"] == 1
    assert m["submission_id"] == sub.name == f"{m['institution_code']}-{m['period'].replace('-', '')}-v1"
    assert m["submitted_at"].endswith("+08:00")
    assert datetime.fromisoformat(m["submitted_at"]).date() > date.fromisoformat(m["period"])


def test_landing_layout_is_institution_period_submission(tiny_run):
    landing, _, summary = tiny_run
    subs = list(iter_submissions(landing))
    # one submission per institution and month, plus the regulator's own (REG0000) in months it has records
    inst_subs = [s for s in subs if s.parts[-3] != "REG0000"]
    assert len(subs) == summary["submissions"]
    assert len(inst_subs) == summary["institutions"] * len(summary["periods"])
    assert 0 < len(subs) - len(inst_subs) <= len(summary["periods"])
    for sub in subs:
        m = read_manifest(sub)
        assert sub.relative_to(landing).parts == (m["institution_code"], m["period"], m["submission_id"])


def test_both_encodings_and_compressions_are_used(tiny_run):
    landing, _, _ = tiny_run
    files = [f for s in iter_submissions(landing) for f in read_manifest(s)["files"]]
    assert {f["encoding"] for f in files} == {"utf-8", "gb18030"}
    assert {f["compression"] for f in files} == {None, "gzip"}


def test_written_capital_figures_are_ordered_and_add_up(tiny_run):
    rows = _capital_rows(tiny_run[0])
    assert rows
    for r in rows:
        d = {k: Decimal(v) for k, v in r.items() if k not in ("institution_code", "report_period")}
        assert d["cet1_capital"] <= d["tier1_capital"] <= d["total_capital"]
        assert d["credit_rwa"] + d["market_rwa"] + d["operational_rwa"] == d["total_rwa"]


def test_written_numbers_have_no_exponent(tiny_run):
    for r in _capital_rows(tiny_run[0]):
        for k in CAPITAL_REPORT.column_names[2:]:
            assert "e" not in r[k].lower() and r[k].count(".") == 1, r[k]


def test_same_seed_gives_byte_identical_files(tmp_path):
    generate(tmp_path / "a" / "landing", tmp_path / "a" / "ground_truth", preset="tiny", seed=3)
    generate(tmp_path / "b" / "landing", tmp_path / "b" / "ground_truth", preset="tiny", seed=3)
    a, b = _file_hashes(tmp_path / "a"), _file_hashes(tmp_path / "b")
    assert a and a == b


def test_different_seeds_give_different_files(tmp_path):
    generate(tmp_path / "a" / "landing", tmp_path / "a" / "gt", preset="tiny", seed=3)
    generate(tmp_path / "b" / "landing", tmp_path / "b" / "gt", preset="tiny", seed=4)
    assert _file_hashes(tmp_path / "a" / "landing") != _file_hashes(tmp_path / "b" / "landing")


def test_generate_twice_into_the_same_landing_is_idempotent(tmp_path):
    generate(tmp_path / "landing", tmp_path / "gt", preset="tiny", seed=5)
    before = _file_hashes(tmp_path)
    generate(tmp_path / "landing", tmp_path / "gt", preset="tiny", seed=5)
    assert _file_hashes(tmp_path) == before


def test_ground_truth_is_beside_not_inside_landing(tiny_run):
    landing, gt, _ = tiny_run
    assert (gt / "ground_truth.json").is_file()
    assert not gt.resolve().is_relative_to(landing.resolve())
    assert not list(landing.rglob("ground_truth*")) and not list(landing.rglob("latent_health*"))


def test_ground_truth_inside_landing_is_refused(tmp_path):
    with pytest.raises(ValueError):
        generate(tmp_path / "landing", tmp_path / "landing" / "ground_truth", preset="tiny")


def test_ground_truth_lists_exactly_the_car_breaches_in_the_files(tiny_run):
    landing, gt, _ = tiny_run
    truth = json.loads((gt / "ground_truth.json").read_text(encoding="utf-8"))
    written = {(r["institution_code"], r["report_period"]) for r in _capital_rows(landing)
               if Decimal(r["total_capital"]) / Decimal(r["total_rwa"]) < Decimal("0.105")}
    listed = {(b["institution_code"], b["report_period"]) for b in truth["capital_breaches"]
              if "total" in b["breached"]}
    assert written and written == listed
    assert {c for c, _ in written} <= set(truth["planted"]["capital_deterioration"])


def test_summary_counts_rows_per_dataset(tiny_run):
    landing, _, summary = tiny_run
    totals: dict[str, int] = {}
    for sub in iter_submissions(landing):
        for f in read_manifest(sub)["files"]:
            totals[f["dataset"]] = totals.get(f["dataset"], 0) + f["rows"]
    assert totals == {k: v for k, v in summary["rows"].items() if v}
    assert set(summary["rows"]) == set(DATASETS)
    assert 9 <= summary["institutions"] <= 12 and len(summary["periods"]) == 12 and len(summary["quarters"]) == 4
    assert summary["periods"][-1] == summary["quarters"][-1] == "2025-12-31"
