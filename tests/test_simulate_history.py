"""The prudential history before the detail-table window (``Preset.prudential_history_quarters``,
simulator.history): quarterly reports and the regulator's records for the history quarters, no detail
table there, episodes spread over the history, and the window exactly as without it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from include.registry.datasets import DATASETS, REGULATOR_CODE
from simulator.build import build_world
from simulator.history import HISTORY_DATASETS
from simulator.periods import quarter_ends
from simulator.presets import get_preset
from simulator.prudential import MIN_RATIOS
from simulator.writer import write_world

H = 8
DETAIL = {"customer_corporate", "customer_individual", "account", "loan", "guarantee", "transaction"}
REGULATOR_DATASETS = {"supervisory_rating", "intervention", "regulator_case"}


@pytest.fixture(scope="module")
def worlds():
    p = get_preset("tiny")
    return build_world(p, 7), build_world(replace(p, prudential_history_quarters=H), 7)


@pytest.fixture(scope="module")
def written(worlds, tmp_path_factory):
    root = tmp_path_factory.mktemp("history")
    write_world(worlds[1], root / "landing", root / "ground_truth")
    return root


def test_presets_hold_the_history_where_the_model_needs_it():
    assert get_preset("small").prudential_history_quarters == 8
    assert get_preset("medium").prudential_history_quarters == 8
    assert get_preset("tiny").prudential_history_quarters == 0
    assert build_world("tiny", 7).history is None


def test_history_quarters_come_right_before_the_window(worlds):
    _, w = worlds
    first = w.periods[0]
    assert w.history.quarters == quarter_ends(_prev_quarter_end(first), H)
    assert w.history.quarters[-1] < first and len(w.history.months) == 3 * H


def _prev_quarter_end(d: date) -> date:
    return (pd.Timestamp(d) - pd.offsets.QuarterEnd(1)).date()


def test_the_window_is_unchanged(worlds):
    base, w = worlds
    assert w.periods == base.periods and w.months == base.months
    np.testing.assert_array_equal(w.health.z, base.health.z)
    for name, f in base.frames.items():
        g = w.frames[name]
        if name in ("intervention", "regulator_case"):  # + the history's records dated in the window
            assert (g["intervention_id" if name == "intervention" else "case_id"].iloc[len(f):]
                    .str.contains("H").all())
            g = g.iloc[: len(f)]
        pd.testing.assert_frame_equal(g.reset_index(drop=True), f.reset_index(drop=True), check_like=False)


def test_every_established_institution_reports_every_history_quarter(worlds):
    _, w = worlds
    inst = w.universe.institutions
    hq = np.array(w.history.quarters, dtype="datetime64[D]")
    est = pd.to_datetime(inst["established_date"]).to_numpy().astype("datetime64[D]")
    expected = int((est[:, None] <= hq[None, :]).sum())
    for name in ("institution", "profitability", "supervisory_rating"):
        f = w.history.frames[name]
        assert len(f) == expected, name
        assert set(f["report_period"].to_numpy().astype("datetime64[D]")) == set(hq)
    reporters = (inst["institution_type"] != "insurer").to_numpy()
    assert len(w.history.frames["capital_report"]) == int((est[reporters, None] <= hq[None, :]).sum())


def test_the_landing_zone_has_reports_but_no_detail_table_for_the_history(worlds, written):
    _, w = worlds
    last = w.history.months[-1]
    seen: dict[str, set[str]] = {}
    for manifest in (written / "landing").glob("*/*/*/manifest.json"):
        period = date.fromisoformat(manifest.parent.parent.name)
        if period > last:
            continue
        code = manifest.parent.parent.parent.name
        files = {f["dataset"] for f in json.loads(manifest.read_text())["files"]}
        assert not files & DETAIL, (code, period, files)
        allowed = REGULATOR_DATASETS if code == REGULATOR_CODE else set(HISTORY_DATASETS)
        assert files <= allowed, (code, period, files)
        if code != REGULATOR_CODE:
            assert period in w.history.quarters and {"institution", "profitability"} <= files
        seen.setdefault(period.isoformat(), set()).update(files)
    for q in w.history.quarters:  # every history quarter: the reports and the ratings
        assert {"capital_report", "asset_quality", "profitability", "supervisory_rating"} <= seen[q.isoformat()]
    gt = pd.read_csv(written / "ground_truth" / "latent_health.csv")
    assert {q.isoformat() for q in w.history.quarters} <= set(gt["report_period"])
    assert set().union(*seen.values()) <= set(DATASETS)


def test_a_distress_episode_breaches_capital_then_recovers_inside_the_history(worlds):
    _, w = worlds
    ev = w.history.events
    distress = ev[ev["event"] == "history_distress"]
    assert len(distress), "tiny with 8 history quarters plants one distress episode"
    cap = w.history.frames["capital_report"]
    for r in distress.itertuples(index=False):
        c = cap[cap["institution_code"] == r.institution_code].sort_values("report_period")
        car = (c["total_capital"] / c["total_rwa"]).to_numpy()
        periods = list(pd.to_datetime(c["report_period"]).dt.date)
        at = periods.index(r.quarter)
        assert at < len(periods) - 1, "the trough is inside the history, not at its end"
        assert car[at] < MIN_RATIOS["total"] <= car[-1]
        ratings = w.history.frames["supervisory_rating"]
        mine = ratings[ratings["institution_code"] == r.institution_code]
        assert mine["rating"].astype(int).max() >= 5  # the regulator reacts (lagged) to the trough


def test_delivery_defects_hit_the_window_only(tmp_path):
    from simulator.generation import generate

    p = replace(get_preset("tiny"), prudential_history_quarters=4, external_feeds=False)
    summary = generate(tmp_path / "landing", tmp_path / "ground_truth", preset=p, seed=7, defects="default")
    assert len(summary["history_quarters"]) == 4
    defects = pd.read_csv(tmp_path / "ground_truth" / "defects.csv")
    assert len(defects)
    assert (pd.to_datetime(defects["period"]) > pd.Timestamp(summary["history_quarters"][-1])).all()


def test_simulate_advance_keeps_the_history(worlds):
    _, w = worlds
    later = build_world(replace(w.preset, extra_months=3), 7)
    assert later.history.quarters == w.history.quarters
    for name, f in w.history.frames.items():
        pd.testing.assert_frame_equal(later.history.frames[name], f)
