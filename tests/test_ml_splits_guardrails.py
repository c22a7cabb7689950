"""A risk team's own panel, with a published split: the CLI reproduces exactly the requested fit,
calibration and holdout periods, stores them, chooses on validation folds inside training, passes the
guardrails with bootstrap intervals, reuses identical retrains and refuses to compare other holdouts.
A panel with too few cases gets no model."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from ml_bank_panel import ARGS, PUBLISHED, write

QUARTER_ENDS = ["2009-12-31", "2010-03-31", "2010-06-30", "2010-09-30", "2010-12-31", "2011-03-31", "2011-06-30",
                "2011-09-30", "2011-12-31", "2012-03-31", "2012-06-30", "2012-09-30", "2012-12-31"]


def _run(capsys, argv):
    from ml.cli import main

    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture(scope="module")
def home():
    home = Path(tempfile.mkdtemp(prefix="sv-ml-split-"))
    mp = pytest.MonkeyPatch()
    mp.setenv("SUPERVISION_HOME", str(home))
    try:
        yield home
    finally:
        mp.undo()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def published(home):
    csv = write(home / "banks.csv")
    import contextlib  # a module fixture cannot use capsys: capture by hand
    import io

    from ml.cli import main

    runs = []
    for argv in (["train", "--data", str(csv), *ARGS, "--name", "bank_failure", *PUBLISHED, "--promote"],
                 ["train", "--data", str(csv), *ARGS, "--name", "bank_failure", *PUBLISHED],  # identical retrain
                 ["train", "--data", str(csv), *ARGS, "--name", "bank_failure", "--train-until", "2010Q3",
                  "--calibrate", "2010Q3", "--holdout-from", "2011Q1", "--candidates", "logreg"]):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(argv)
        runs.append((rc, json.loads(out.getvalue()) if rc == 0 else None, err.getvalue()))
    return {"csv": csv, "runs": runs}


def _meta(run: dict) -> dict:
    return json.loads((Path(run["report"].removeprefix("file://")).parent / "metrics.json").read_text())["meta"]


def test_the_published_split_is_reproduced_exactly_and_stored(published):
    rc, out, err = published["runs"][0]
    assert rc == 0, err
    assert "split: fit 2009-12-31..2010-09-30 (4); calibrate cv (cross-fitted in fit periods); " \
           "holdout 2010-12-31..2012-12-31 (9)" in err
    for run in out["runs"]:
        m = _meta(run)
        assert m["fit_periods"] == QUARTER_ENDS[:4]
        assert m["calibration_periods"] == [] and m["calibration_cv"] is True
        assert m["holdout_periods"] == QUARTER_ENDS[4:]
        assert "cross-fitted" in m["calibration_method"]
        assert m["train_config"]["train_until"] == "2010Q3" and m["train_config"]["calibrate"] == "cv"
        # validation folds (where the challenger is chosen) end before the holdout
        assert m["backtest_metrics"]["n"] > 0
        report = Path(run["report"].removeprefix("file://"))
        assert (report.parent / "report.html").exists()
        assert "2010-12-31..2012-12-31 (9)" in report.read_text()


def test_validation_folds_stay_inside_the_training_periods(published):
    _, out, _ = published["runs"][0]
    for run in out["runs"]:
        folds = json.loads((Path(run["report"].removeprefix("file://")).parent / "metrics.json").read_text())
        text = Path(run["report"].removeprefix("file://")).read_text()
        assert "Validation folds inside the training periods" in text
        tested = [line.split("|")[1].strip() for line in text.splitlines()
                  if line.startswith("| 20") and line.count("|") == 6]
        assert tested and max(tested) <= "2010-09-30", tested
        assert folds["meta"]["holdout_periods"][0] == "2010-12-31"


def test_guardrails_pass_with_bootstrap_intervals_above_zero_and_the_champion_is_promoted(published):
    _, out, _ = published["runs"][0]
    assert out["promotion"]["promoted"] is True, out["promotion"]
    champ = next(r for r in out["runs"] if r["version"] == out["challenger"])
    g, b = champ["guardrails"], champ["bootstrap"]
    assert g["passed"], g
    assert {x["rule"] for x in g["rules"]} == {"min_fit_positives", "min_holdout_positives", "beats_chance",
                                              "beats_baseline", "calibrated"}
    assert b["vs_baseline_ci"][0] > 0 and b["vs_chance_ci"][0] > 0
    assert b["pr_auc_ci"][0] < b["pr_auc"] < b["pr_auc_ci"][1]
    # the challenger is the best on validation, not necessarily on the holdout
    best_val = max(out["runs"], key=lambda r: r["backtest"]["pr_auc"])
    assert out["challenger"] == best_val["version"]


def test_an_identical_retrain_reuses_its_versions(published):
    first, second = published["runs"][0][1], published["runs"][1][1]
    assert [r["version"] for r in second["runs"]] == [r["version"] for r in first["runs"]]
    assert all(r["reused"] for r in second["runs"])


def test_compare_is_a_table_of_one_holdout_and_says_what_it_leaves_out(published, capsys):
    rc, out, err = _run(capsys, ["compare", "--name", "bank_failure"])
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == "bank_failure: holdout 2010-12-31..2012-12-31 (9)"
    assert lines[1].split()[:4] == ["version", "candidate", "holdout", "periods"]
    body = [x for x in lines[3:] if x[:1].isdigit()]
    assert len(body) == 2 and all("2010-12-31..2012-12-31 (9)" in x for x in body)
    assert "champion" in out
    third = published["runs"][2][1]["runs"][0]["version"]
    assert f"not compared: versions {third} were judged on other holdouts (2011-03-31..2012-12-31 (8))" in out
    rc, out, _ = _run(capsys, ["compare", "--name", "bank_failure", "--holdout", "2011-03-31", "--json"])
    data = json.loads(out)
    assert rc == 0 and [v["version"] for v in data["versions"]] == [third]
    assert isinstance(data["versions"][0]["pr_auc"], float)


def test_a_range_calibration_and_a_later_holdout_are_what_was_asked(published):
    rc, out, err = published["runs"][2]
    assert rc == 0, err
    m = _meta(out["runs"][0])
    assert m["fit_periods"] == QUARTER_ENDS[:3] and m["calibration_periods"] == ["2010-09-30"]
    assert m["holdout_periods"] == QUARTER_ENDS[5:]  # 2010Q4 is neither trained nor tested on


def test_a_challenger_from_another_holdout_is_not_compared_with_the_champion(published, capsys):
    third = published["runs"][2][1]["runs"][0]["version"]
    rc, out, err = _run(capsys, ["promote", "--name", "bank_failure", "--version", third])
    assert rc == 0, err
    d = json.loads(out)
    assert d["promoted"] is False
    assert "not comparable" in d["reason"] or "guardrails failed" in d["reason"], d["reason"]


def test_a_panel_with_too_few_cases_gets_no_model_and_says_why(home, capsys):
    csv = write(home / "few.csv", n_banks=40, seed=5)
    rc, out, err = _run(capsys, ["train", "--data", str(csv), *ARGS, "--name", "few_banks", "--promote",
                                 "--candidates", "logreg"])
    assert rc == 0, err
    d = json.loads(out)
    assert d["promotion"]["promoted"] is False
    assert "no model: too few cases" in d["promotion"]["reason"]
    assert "min_fit_positives" in d["promotion"]["reason"] or "min_holdout_positives" in d["promotion"]["reason"]
