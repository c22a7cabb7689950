"""``score_risk`` trains a panel's candidates with each report and registration in a background thread while the
next candidate fits (``ml.dag_tasks.train_candidates``): the same versions, figures, guardrail verdicts, reports
and MLflow runs as one candidate after the other (``train_candidate`` in a loop), and the MLflow run's parameters
and metrics (logged in one batch by ``ml.registry.register``) are those of the model's metadata.

The panel is a CSV unrelated to the simulator (entities by month, events following one count plus noise), trained
under two model names of the same data: one sequentially, one pipelined."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ml import dag_tasks, fastreg, registry
from ml.candidates import KINDS
from ml.panel import PanelSpec, load
from ml.presets import PRESETS, Preset

TEXTS = {"events": ("事件", "events"), "noise_a": ("噪声甲", "noise a"), "noise_b": ("噪声乙", "noise b")}
SPEC = PanelSpec("entity", "month", "label", ("events", "noise_a", "noise_b"), "events")


def _panel_csv(path, n: int = 700, months: int = 12, seed: int = 5):
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.5, 1.5, n)
    rows = []
    for m, month in enumerate(pd.date_range("2023-01-31", periods=months, freq="ME")):
        events = rng.poisson(rate)
        noise_a = rng.normal(0, 1, n).round(4)
        label = (rng.random(n) < 1 / (1 + np.exp(-(-4.2 + 0.6 * events + 0.8 * noise_a)))).astype(float)
        rows.append(pd.DataFrame({"entity": [f"E{i:04d}" for i in range(n)], "month": month.date().isoformat(),
                                  "events": events, "noise_a": noise_a, "noise_b": rng.uniform(0, 1, n).round(4),
                                  "label": label if m < months - 1 else np.nan}))
    pd.concat(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def both(warehouse):
    mp = pytest.MonkeyPatch()
    csv = _panel_csv(warehouse.state.home / "pipelined.csv")
    for name in ("seq_pipe_test", "bg_pipe_test"):
        mp.setitem(PRESETS, name, Preset(name, "firm", str(csv), SPEC, TEXTS))
    try:
        url = warehouse.role_url("scorer")
        seq = [dag_tasks.train_candidate("seq_pipe_test", k, url, load(str(csv), SPEC)) for k in KINDS]
        bg = dag_tasks.train_candidates("bg_pipe_test", KINDS, url, load(str(csv), SPEC))
        yield {"seq": seq, "bg": bg, "seq_versions": fastreg.versions("seq_pipe_test"),
               "bg_versions": fastreg.versions("bg_pipe_test")}
    finally:
        mp.undo()


def _same(d: dict) -> dict:
    """What must not depend on the way of training: all but the timing, the report's path and the model name."""
    return {k: v for k, v in d.items() if k not in ("seconds", "report", "model_name")}


def test_pipelined_candidates_are_the_sequential_ones(both):
    seq, bg = both["seq"], both["bg"]
    assert [t["candidate"] for t in bg] == list(KINDS)
    assert [t["version"] for t in bg] == [t["version"] for t in seq] == [str(i + 1) for i in range(len(KINDS))]
    assert not any(t.get("skipped") for t in bg), bg
    for s, b in zip(seq, bg, strict=True):
        assert _same(b) == _same(s), b["candidate"]
    tags = ("candidate", "holdout_pr_auc", "holdout_roc_auc", "holdout_brier", "baseline_pr_auc", "validation_pr_auc",
            "guardrails", "train_key", "holdout_fingerprint")
    for s, b in zip(both["seq_versions"], both["bg_versions"], strict=True):
        assert {k: b.get(k) for k in tags} == {k: s.get(k) for k in tags}
    for kind, s, b in zip(KINDS, seq, bg, strict=True):  # the reports' figures and tables alike
        ms, mb = (json.loads((fastreg.local_dir(v["source"]).parent / "report" / "metrics.json").read_text())
                  for v in (both["seq_versions"][int(s["version"]) - 1], both["bg_versions"][int(b["version"]) - 1]))
        assert (mb["importance"], mb["reliability"], mb["by_period"]) == \
            (ms["importance"], ms["reliability"], ms["by_period"]), kind


def test_a_run_holds_every_parameter_and_finite_metric_of_its_model(both):
    c = registry.client()
    for v in both["bg_versions"]:
        _, m = fastreg.meta("bg_pipe_test", v["version"])
        run = c.get_run(v["run_id"])
        assert run.data.params == {
            "candidate": v["candidate"], "features": "3", "embargo": str(m["embargo"]),
            "calibration": m["calibration_method"], "fit_periods": m["split"]["fit"],
            "calibration_periods": m["split"]["calibrate"], "holdout": m["split"]["holdout"],
            "panel_source": m["panel_source"], "code_version": m["code_version"],
            "guardrails": m["guardrails"].get("short", "")}
        flat = registry._flat
        want = {**flat("holdout", m["holdout_metrics"]), **flat("validation", m["backtest_metrics"]),
                **flat("lead", m["lead_time"]), **flat("bootstrap", m["bootstrap"])}
        assert run.data.metrics == pytest.approx(want) and len(want) > 20
        assert run.info.status == "FINISHED"


def test_a_candidate_that_cannot_train_is_skipped_and_the_others_still_register(warehouse):
    mp = pytest.MonkeyPatch()
    csv = _panel_csv(warehouse.state.home / "pipelined_short.csv", months=3)  # too short for any split
    mp.setitem(PRESETS, "short_pipe_test", Preset("short_pipe_test", "firm", str(csv), SPEC, TEXTS))
    try:
        out = dag_tasks.train_candidates("short_pipe_test", KINDS, warehouse.role_url("scorer"),
                                         load(str(csv), SPEC))
        seq = [dag_tasks.train_candidate("short_pipe_test", k, warehouse.role_url("scorer"), load(str(csv), SPEC))
               for k in KINDS]
    finally:
        mp.undo()
    assert [t["candidate"] for t in out] == list(KINDS)
    assert out == seq and all(t["skipped"] and t["short"] for t in out), out
    assert fastreg.versions("short_pipe_test") == []


@pytest.fixture(scope="module")
def ahead(warehouse):
    """Two panels trained as `supervision run|demo` runs score_risk: their candidates evaluated ahead in processes
    of their own (``ml.dag_tasks.cold_training_ahead``), then each panel's ``train_candidates``; and the same two
    panels one candidate after the other under other names."""
    mp = pytest.MonkeyPatch()
    csvs = {s: _panel_csv(warehouse.state.home / f"ahead_{s}.csv", seed=s) for s in (5, 6)}
    for s, csv in csvs.items():
        for name in (f"ahead_{s}", f"ahead_seq_{s}"):
            mp.setitem(PRESETS, name, Preset(name, "firm", str(csv), SPEC, TEXTS))
    import ml.train

    here = []  # the candidates this process evaluated itself (the rule baseline is not one)
    real = ml.train.evaluate_candidate
    mp.setattr(ml.train, "evaluate_candidate",
               lambda p, kind, *a, **k: (kind in KINDS and here.append(kind)) or real(p, kind, *a, **k))
    try:
        url = warehouse.role_url("scorer")
        with dag_tasks.cold_training_ahead(("ahead_5", "ahead_6"), url):
            assert set(dag_tasks._AHEAD) == {"ahead_5", "ahead_6"}
            read = {s: dag_tasks._read_ahead(f"ahead_{s}") for s in csvs}  # what score_preset takes
            out = {s: dag_tasks.train_candidates(f"ahead_{s}", KINDS, url, load(str(csv), SPEC))
                   for s, csv in csvs.items()}
        evaluated_here = list(here)
        seq = {s: [dag_tasks.train_candidate(f"ahead_seq_{s}", k, url, load(str(csv), SPEC)) for k in KINDS]
               for s, csv in csvs.items()}
        yield {"out": out, "seq": seq, "here": evaluated_here, "left": dict(dag_tasks._AHEAD), "read": read,
               "csvs": csvs}
    finally:
        mp.undo()


def test_candidates_evaluated_ahead_are_the_sequential_ones(ahead):
    from ml.workflow import reports_root

    assert ahead["here"] == [], "the candidates were evaluated again in the task's process"
    for s, csv in ahead["csvs"].items():  # the rows read ahead are the panel as the task would read it
        pd.testing.assert_frame_equal(ahead["read"][s].frame, load(str(csv), SPEC).frame)
    assert ahead["left"] == {}
    tags = ("candidate", "holdout_pr_auc", "holdout_roc_auc", "holdout_brier", "baseline_pr_auc", "validation_pr_auc",
            "guardrails", "train_key", "holdout_fingerprint")
    for s in (5, 6):
        out, seq = ahead["out"][s], ahead["seq"][s]
        assert [t["version"] for t in out] == [str(i + 1) for i in range(len(KINDS))]
        assert not any(t.get("skipped") for t in out), out
        for a, b in zip(out, seq, strict=True):
            assert _same(a) == _same(b), (s, a["candidate"])
        for a, b in zip(fastreg.versions(f"ahead_{s}"), fastreg.versions(f"ahead_seq_{s}"), strict=True):
            assert {k: a.get(k) for k in tags} == {k: b.get(k) for k in tags}
            ma, mb = (json.loads((fastreg.local_dir(v["source"]).parent / "report" / "metrics.json").read_text())
                      for v in (a, b))
            assert (ma["importance"], ma["reliability"], ma["by_period"]) == \
                (mb["importance"], mb["reliability"], mb["by_period"])
    assert ahead["out"][5][1]["holdout"] != ahead["out"][6][1]["holdout"]  # two panels, not one twice
    for s in (5, 6):  # each report written once (ahead, in the other process), the one registered
        assert [t["report"] for t in ahead["out"][s]] == [str(d / "report.md") for d in sorted(
            (reports_root() / f"ahead_{s}").iterdir(), key=lambda d: KINDS.index(d.name.split("-")[-1]))]


def test_results_evaluated_ahead_on_other_rows_are_not_used(warehouse):
    """The task reads its own rows: when they are not those the process evaluated (another train key), the task
    evaluates the candidates itself, as without the processes."""
    mp = pytest.MonkeyPatch()
    csv, other = (_panel_csv(warehouse.state.home / f"ahead_other_{s}.csv", seed=s) for s in (7, 8))
    for name in ("ahead_other", "ahead_other_b"):
        mp.setitem(PRESETS, name, Preset(name, "firm", str(csv), SPEC, TEXTS))
    mp.setitem(PRESETS, "ahead_other_seq", Preset("ahead_other_seq", "firm", str(other), SPEC, TEXTS))
    try:
        url = warehouse.role_url("scorer")
        with dag_tasks.cold_training_ahead(("ahead_other", "ahead_other_b"), url):
            got = dag_tasks.train_candidates("ahead_other", KINDS, url, load(str(other), SPEC))
        want = [dag_tasks.train_candidate("ahead_other_seq", k, url, load(str(other), SPEC)) for k in KINDS]
    finally:
        mp.undo()
    assert not any(t.get("skipped") for t in got), got
    assert [_same(t) for t in got] == [_same(t) for t in want]
    from ml.workflow import reports_root

    # the reports written ahead on the other rows are gone; those of the registered versions are there
    assert sorted(d.name.split("-")[-1] for d in (reports_root() / "ahead_other").iterdir()) == sorted(KINDS)
