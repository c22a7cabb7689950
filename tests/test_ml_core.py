"""The generic ML core on a panel unrelated to the simulator: panel checks, time splits, metrics,
levels, drift, and the CLI's train -> register -> promote cycle with its reports."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_ml_panel_data import TRAIN_ARGS, loan_panel, write_csv

from ml import drift, metrics, registry
from ml.levels import LevelConfig, apply_overrides, assign
from ml.panel import PanelError, PanelSpec, build, load
from ml.splits import SplitError, out_of_time, rolling_origin

SPEC = PanelSpec("borrower", "month", "defaults_next_3m", ("dti", "utilisation", "arrears_days", "tenure_years"),
                 "arrears_days")


# ---------------------------------------------------------------------------- panel checks
@pytest.mark.parametrize("column, value, rule", [
    ("defaults_next_3m", "2", "label_is_binary"),
    ("dti", "high", "feature_is_numeric"),
    ("month", "not-a-date", "period_is_date"),
])
def test_bad_value_is_named_by_file_row_and_rule(tmp_path, column, value, rule):
    frame = loan_panel(n_borrowers=20, n_months=6)
    frame[column] = frame[column].astype(object)
    frame.loc[7, column] = value
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(PanelError) as e:
        load(str(path), SPEC)
    assert str(path) in str(e.value) and "row 9" in str(e.value) and rule in str(e.value)  # header is line 1


def test_missing_column_and_duplicate_rows_are_refused(tmp_path):
    frame = loan_panel(n_borrowers=20, n_months=6)
    with pytest.raises(PanelError, match="named_columns_exist"):
        build(frame.drop(columns=["dti"]), SPEC, "p.csv")
    dup = pd.concat([frame, frame.iloc[[3]]], ignore_index=True)
    with pytest.raises(PanelError, match=r"rows \[5, \d+\].*entity_period_unique"):
        build(dup, SPEC, "p.csv", first_line=2)


def test_empty_label_is_kept_for_scoring_not_training():
    panel = build(loan_panel(n_borrowers=30, n_months=6), SPEC, "p")
    latest = max(panel.periods(labelled_only=False))
    assert latest not in panel.periods()  # no month after it: label unknown
    assert (panel.frame[SPEC.period] == latest).sum() > 0


# ---------------------------------------------------------------------------- splits
def test_out_of_time_split_orders_fit_calibration_embargo_holdout():
    periods = list(pd.date_range("2020-03-31", periods=10, freq="QE"))
    s = out_of_time(periods, holdout_periods=2, embargo=1, calibration_periods=1)
    assert s.test == periods[-2:]
    assert s.calibrate == [periods[6]] and s.fit == periods[:6]  # periods[7] is the embargo
    assert max(s.fit) < min(s.calibrate) < min(s.test)
    with pytest.raises(SplitError):
        out_of_time(periods[:3], holdout_periods=2)


def test_rolling_origin_trains_only_on_earlier_periods():
    periods = list(pd.date_range("2020-01-31", periods=8, freq="ME"))
    folds = rolling_origin(periods, min_train_periods=3, embargo=1)
    assert [f.test[0] for f in folds] == periods[4:]
    for f in folds:
        assert max(f.train) < f.test[0] and len(f.train) == periods.index(f.test[0]) - 1


# ---------------------------------------------------------------------------- metrics
def test_top_k_precision_and_recall():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    s = np.array([.9, .8, .7, .1, .1, .1, .1, .1, .1, .05])
    assert metrics.top_k(y, s, 0.10) == (1.0, 1 / 3)  # top 1 row
    assert metrics.top_k(y, s, 0.30) == (2 / 3, 2 / 3)


def test_lead_time_counts_periods_from_first_flag_to_event():
    periods = list(pd.date_range("2020-03-31", periods=6, freq="QE"))
    rows = []
    # entity A: positive at periods 1-3 (event at 4); flagged (top score of its period) from period 2
    # entity B: positive at period 4 only (event at 5), never flagged; fillers keep the periods wide
    for i, p in enumerate(periods):
        rows.append({"entity": "A", "period": p, "label": int(1 <= i <= 3), "score": 0.9 if i >= 2 else 0.01})
        rows.append({"entity": "B", "period": p, "label": int(i == 4), "score": 0.02})
        rows += [{"entity": f"F{k}", "period": p, "label": 0, "score": 0.5 if i < 2 else 0.03} for k in range(8)]
    lead = metrics.lead_times(pd.DataFrame(rows), "entity", "period", "label", "score", periods, share=0.10)
    assert lead["episodes"] == 2 and lead["episodes_flagged"] == 1
    assert lead["median_lead_periods"] == 2.0  # flagged at period 2, event at period 4


# ---------------------------------------------------------------------------- levels and drift
def test_levels_from_cutoffs_and_overrides_only_raise():
    cfg = LevelConfig.parse("red=0.5,orange=0.25,yellow=0.1,blue=0.03")
    lv = assign(np.array([0.6, 0.3, 0.12, 0.05, 0.01]), cfg)
    assert lv.tolist() == ["red", "orange", "yellow", "blue", "none"]
    frame = pd.DataFrame({"car_below_minimum": [1, 1, 0, 0, 0], "confirmed_flow_pattern": [0, 0, 0, 0, 1]})
    raised, applied = apply_overrides(frame, lv, cfg)
    assert raised.tolist() == ["red", "orange", "yellow", "blue", "red"]
    assert applied[0] == [] and applied[1] == []  # already at least orange
    assert applied[4][0]["rule"] == "confirmed_flow_pattern" and applied[4][0]["from"] == "none"
    with pytest.raises(ValueError, match="fall from red to blue"):
        LevelConfig.parse("red=0.1,orange=0.3")


def test_psi_is_small_for_the_same_population_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(0, 1, 5000)})
    ref = drift.reference(train, ["x"])
    same = drift.compare(ref, pd.DataFrame({"x": rng.normal(0, 1, 2000)}))
    moved = drift.compare(ref, pd.DataFrame({"x": rng.normal(1, 1, 2000)}))
    assert same["psi"].iat[0] < 0.05 and same["level"].iat[0] == "stable"
    assert moved["psi"].iat[0] > 0.25 and moved["level"].iat[0] == "large"


def test_promotion_rule_needs_the_margin_and_no_worse_brier():
    ch = {"pr_auc": 0.50, "brier": 0.050}
    assert registry.decide(ch, {"pr_auc": 0.48, "brier": 0.050}).promote is True  # +0.02 >= 0.01
    assert registry.decide(ch, {"pr_auc": 0.495, "brier": 0.050}).promote is False  # +0.005 < 0.01
    assert registry.decide(ch, {"pr_auc": 0.40, "brier": 0.040}).promote is False  # Brier +0.010 > 0.005
    assert registry.decide(ch, {"pr_auc": 0.40, "brier": 0.048}).promote is True
    assert registry.decide(ch, None, baseline_pr_auc=0.6).promote is False
    assert registry.decide(ch, None, baseline_pr_auc=0.3).promote is True


# ---------------------------------------------------------------------------- the CLI, end to end
@pytest.fixture(scope="module")
def trained():
    """`python -m ml train` on the loan CSV, in its own state directory; then a second training run."""
    from ml.cli import main

    home = Path(tempfile.mkdtemp(prefix="sv-ml-"))  # not under pytest's basetemp, which other sessions prune
    mp = pytest.MonkeyPatch()
    mp.setenv("SUPERVISION_HOME", str(home))
    csv = write_csv(home / "loans.csv", n_borrowers=700)  # 300 borrowers: too few to beat the rule with confidence
    try:
        rc1 = main(["train", "--data", str(csv), *TRAIN_ARGS, "--name", "loan_default", "--promote"])
        first = registry.versions("loan_default")
        rc2 = main(["promote", "--data", str(csv), *TRAIN_ARGS, "--name", "loan_default", "--version",
                    next(v["version"] for v in first if "champion" not in v["aliases"])])
        yield {"home": home, "csv": csv, "rc": (rc1, rc2), "first": first,
               "after": registry.versions("loan_default")}
    finally:
        mp.undo()
        shutil.rmtree(home, ignore_errors=True)


def test_cli_trains_registers_and_promotes_on_a_foreign_csv(trained):
    assert trained["rc"] == (0, 0)
    first = trained["first"]
    assert [v["candidate"] for v in first] == ["logreg", "gbm"]
    aliases = {a: v["version"] for v in first for a in v["aliases"]}
    assert set(aliases) == {"champion", "challenger"} and aliases["champion"] == aliases["challenger"]
    best = max(first, key=lambda v: float(v["validation_pr_auc"]))  # chosen on validation, not on the holdout
    assert aliases["challenger"] == best["version"]
    assert all(v["guardrails"] == "passed" for v in first)


def test_the_weaker_candidate_is_not_promoted_over_the_champion(trained):
    after = {v["version"]: v for v in trained["after"]}
    loser = next(v for v in trained["first"] if "champion" not in v["aliases"])
    assert after[loser["version"]]["aliases"] == []
    assert after[loser["version"]]["promotion_decision"].startswith("not promoted: PR-AUC")


def test_each_version_keeps_its_report_with_the_figures(trained):
    for v in trained["first"]:
        report = Path(v["report"].removeprefix("file://"))
        assert report.exists(), report
        text = report.read_text()
        assert "Out-of-time holdout" in text and "baseline" in text and "median_lead_periods" in text
        for png in ("roc.png", "pr.png", "calibration.png", "importance.png", "score_by_level.png"):
            assert (report.parent / png).stat().st_size > 1000, png
        meta = json.loads((report.parent / "metrics.json").read_text())["meta"]
        # 11 labelled months (the 12th has no future yet): the latest 3 (about a quarter) are held out
        assert meta["holdout_periods"] == ["2021-09-30", "2021-10-31", "2021-11-30"]
        assert max(meta["fit_periods"]) < min(meta["calibration_periods"]) < min(meta["holdout_periods"])


def test_models_find_the_planted_signal_and_beat_the_rule(trained):
    for v in trained["first"]:
        meta = json.loads((Path(v["report"].removeprefix("file://")).parent / "metrics.json").read_text())
        ho, base = meta["meta"]["holdout_metrics"], meta["others"]["baseline"]["holdout"]
        assert ho["roc_auc"] > 0.75, (v["candidate"], ho)
        assert ho["pr_auc"] > base["pr_auc"], (v["candidate"], ho, base)
