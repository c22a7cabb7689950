"""Explicit data handling: infinite values clipped to the training range and counted, constant and empty
features dropped with a warning, periods as YYYYQn / YYYY-MM / dates, derived features point in time,
seasonal-aware drift, JSON-safe metrics, and a command line that imports nothing heavy for --help."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from ml import derive, drift, handling, metrics, models
from ml.metrics_json import dumps
from ml.panel import PanelError, PanelSpec, build
from ml.periods import bound, parse_series

SPEC = PanelSpec("e", "p", "y", ("x", "flat", "empty"))


def _panel(n=60, periods=("2020-03", "2020-04", "2020-05", "2020-06")):
    rng = np.random.default_rng(1)
    rows = [{"e": f"E{i}", "p": p, "y": float(rng.random() < 0.3), "x": rng.normal(), "flat": 1.0, "empty": None}
            for p in periods for i in range(n)]
    return pd.DataFrame(rows)


def test_periods_parse_as_period_ends_and_bounds_as_first_or_last_day():
    s, bad = parse_series(pd.Series(["2010Q3", "2011-02", "2012-05-17", "2010 Q4"]))
    assert bad is None
    assert [str(d.date()) for d in s] == ["2010-09-30", "2011-02-28", "2012-05-17", "2010-12-31"]
    assert parse_series(pd.Series(["2010Q3", "2010-13"]))[1] == 1
    assert str(bound("2010Q4", False, "--x").date()) == "2010-10-01"
    assert str(bound("2010Q4", True, "--x").date()) == "2010-12-31"


def test_infinite_values_are_counted_and_clipped_to_the_training_range(caplog):
    frame = _panel()
    frame.loc[[3, 70], "x"] = [np.inf, -np.inf]
    with caplog.at_level(logging.WARNING):
        panel = build(frame, SPEC, "inf.csv")
    assert panel.handling["infinite_values"] == {"x": 2}
    assert "2 infinite values in x, clipped to the training percentile range (rule: inf_clipped)" in caplog.text
    clip = models.ClipToTrainingRange().fit(panel.frame[["x"]])
    out = clip.transform(panel.frame[["x"]])
    finite = panel.frame["x"][np.isfinite(panel.frame["x"])]
    hi, lo = (int(np.flatnonzero(panel.frame["x"] == v)[0]) for v in (np.inf, -np.inf))  # the panel's own order
    assert out[hi, 0] == pytest.approx(np.percentile(finite, 99.5)) and out[lo, 0] == pytest.approx(
        np.percentile(finite, 0.5))
    assert np.isfinite(out).all()


def test_constant_and_empty_features_are_dropped_with_a_warning(caplog):
    panel = build(_panel(), SPEC, "c.csv")
    with caplog.at_level(logging.WARNING):
        ready = handling.prepare(panel, panel.periods()[:3])
    assert ready.spec.features == ("x",)
    assert "feature_dropped_constant" in ready.handling["dropped_features"]["flat"]
    assert "feature_dropped_empty" in ready.handling["dropped_features"]["empty"]
    assert "feature flat dropped" in caplog.text and "feature empty dropped" in caplog.text


def test_nan_policy_zero_fills_and_counts():
    frame = _panel()
    frame.loc[[1, 2, 3], "x"] = None
    panel = build(frame, PanelSpec("e", "p", "y", ("x",)), "n.csv")
    ready = handling.prepare(panel, panel.periods()[:3], "zero")
    assert ready.handling["missing_values"] == {"x": 3} and ready.handling["nan_policy"] == {"x": "zero"}
    first = ready.frame["p"] == ready.frame["p"].min()  # the rows emptied: E1..E3 of the first period
    filled = ready.frame[first & ready.frame["e"].isin(frame.loc[[1, 2, 3], "e"])]
    assert len(filled) == 3 and (filled["x"] == 0).all()


def test_label_as_feature_is_refused():
    with pytest.raises(PanelError, match="label_not_a_feature"):
        build(_panel(), PanelSpec("e", "p", "y", ("x", "y")), "l.csv")


def test_derived_features_use_only_earlier_periods_of_the_same_entity_and_never_bridge_a_gap():
    frame = pd.DataFrame({"e": ["A"] * 5 + ["B"] * 4, "p": ["2020Q1", "2020Q2", "2020Q3", "2020Q4", "2021Q1",
                                                            "2020Q1", "2020Q2", "2020Q4", "2021Q1"],
                          "y": [0.0] * 9, "x": [1, 2, 4, 8, 16, 10, 20, 40, 80]})
    panel = derive.derive(build(frame, PanelSpec("e", "p", "y", ("x",)), "d.csv"),
                          derive.parse("lag1,diff1,diff4,trend4"))
    f = panel.frame.set_index(["e", panel.frame["p"].dt.strftime("%Y-%m")])
    assert f.loc[("A", "2020-06"), "x__lag1"] == 1 and f.loc[("A", "2020-06"), "x__diff1"] == 1
    assert np.isnan(f.loc[("A", "2020-03"), "x__lag1"])
    assert f.loc[("A", "2021-03"), "x__diff4"] == 15
    assert f.loc[("A", "2020-12"), "x__trend4"] == pytest.approx(np.polyfit([0, 1, 2, 3], [1, 2, 4, 8], 1)[0])
    assert np.isnan(f.loc[("B", "2020-12"), "x__lag1"])  # B has no 2020Q3: the gap is not bridged
    assert f.loc[("B", "2021-03"), "x__diff1"] == 40
    assert panel.spec.features == ("x", "x__lag1", "x__diff1", "x__diff4", "x__trend4")
    words = derive.texts({"x": ("某比率", "some ratio")}, panel.spec.features)
    assert words["x__diff4"][1] == "four-period change in some ratio"


def test_year_to_date_features_drift_only_against_the_same_quarter():
    rng = np.random.default_rng(3)
    periods = pd.to_datetime(["2020-03-31", "2020-06-30", "2020-09-30", "2020-12-31"] * 1)
    frame = pd.DataFrame([{"p": p, "ytd": (i % 4 + 1) * 0.25 * rng.normal(1, 0.1)} for i, p in enumerate(periods)
                          for _ in range(300)])
    frame["ytd"] = [(p.quarter * 0.25) * rng.normal(1, 0.1) for p in frame["p"]]
    plain = drift.reference(frame, ["ytd"])
    seasonal = drift.reference(frame, ["ytd"], period="p", seasonal=("ytd",))
    q1 = pd.DataFrame({"ytd": 0.25 * rng.normal(1, 0.1, 300)})
    assert drift.compare(plain, q1)["level"].iat[0] == "large"  # Q1 against the whole year: false drift
    assert drift.compare(seasonal, q1, month=3)["level"].iat[0] == "stable"


def test_metrics_are_json_safe():
    m = metrics.evaluate([0, 0, 0], [0.1, 0.2, 0.3])  # one class: ROC/PR undefined
    assert np.isnan(m["roc_auc"])
    text = dumps({"m": m, "inf": float("inf"), "np": np.float64("nan")})
    data = json.loads(text)
    assert data["m"]["roc_auc"] is None and data["inf"] is None and data["np"] is None


def test_reliability_bins_are_log_spaced_and_ece_sees_over_prediction():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.001, 0.05, 5000)
    y = (rng.random(5000) < p).astype(float)
    assert metrics.ece(y, p) < 0.01
    p_hi = p.copy()
    p_hi[:50] = 0.9  # a handful "red" at 0.9 that fail at the base rate: equal-count bins hide this
    assert metrics.ece(y, p_hi) > 0.008
    r = metrics.reliability(y, p_hi)
    assert r["high"].iat[-1] == 1.0 and r["rows"].iat[-1] == 50


def test_the_command_line_imports_nothing_heavy_for_help():
    code = ("import sys, ml.cli; ml.cli.build_parser(); "
            "print(sorted(m for m in ('pandas', 'numpy', 'sklearn', 'mlflow', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_ml_ui_serves_this_registry_on_localhost_from_its_own_virtualenv(tmp_path, monkeypatch, capsys):
    from ml.cli import main

    monkeypatch.setenv("SUPERVISION_HOME", str(tmp_path))
    monkeypatch.setenv("SUPERVISION_MLFLOW_VENV", str(tmp_path / "venv"))
    assert main(["ui", "--print-command", "--port", "5055"]) == 0
    cmd = capsys.readouterr().out.split()
    assert cmd[0] == str(tmp_path / "venv" / "bin" / "mlflow") and cmd[1] == "server"
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and cmd[cmd.index("--port") + 1] == "5055"
    assert cmd[cmd.index("--backend-store-uri") + 1] == f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
