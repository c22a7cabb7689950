"""The panel's labelled rows and fingerprint are computed once per frame object (score_risk asks for them in
every split of every candidate) and still follow a new frame; the report figures are written without pyplot."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd

from ml.panel import PanelSpec, build

SPEC = PanelSpec("e", "p", "y", ("x", "z"))


def _frame(n=40, periods=("2020-03", "2020-04", "2020-05", "2020-06")) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = [{"e": f"E{i}", "p": p, "y": (None if p == periods[-1] else float(rng.random() < 0.2)),
             "x": rng.normal(), "z": rng.normal()} for p in periods for i in range(n)]
    return pd.DataFrame(rows)


def _fingerprint_from_scratch(panel) -> str:
    """The definition of ``Panel.fingerprint``, recomputed without any cache."""
    s = panel.spec
    lab = panel.frame[panel.frame[s.label].notna()]
    f = lab[[s.entity, s.period, s.label, *s.features]].sort_values([s.entity, s.period])
    return hashlib.sha256(pd.util.hash_pandas_object(f, index=False).to_numpy().tobytes()).hexdigest()


def test_labelled_rows_are_computed_once_and_follow_a_new_frame():
    panel = build(_frame(), SPEC, "cache.csv")
    first = panel.labelled
    assert first is panel.labelled  # the same frame object: not re-filtered
    assert len(first) == 3 * 40 and first["y"].notna().all()
    pd.testing.assert_frame_equal(first, panel.frame[panel.frame["y"].notna()])
    periods = panel.periods()
    pd.testing.assert_frame_equal(panel.rows(periods[:2]), first[first["p"].isin(periods[:2])])
    # a new frame (what derive/handling/scoring produce: copies) is a new key, never the old rows
    panel.frame = panel.frame.assign(y=panel.frame["y"].fillna(0.0))
    assert len(panel.labelled) == 4 * 40
    assert panel.labelled is not first


def test_fingerprint_is_cached_per_frame_and_spec_and_equals_its_definition():
    panel = build(_frame(), SPEC, "cache.csv")
    fp = panel.fingerprint()
    assert fp == _fingerprint_from_scratch(panel) == panel.fingerprint()
    panel.frame = panel.frame.assign(x=panel.frame["x"] + 1.0)  # other data: another fingerprint
    assert panel.fingerprint() == _fingerprint_from_scratch(panel) != fp
    before = panel.fingerprint()
    panel.spec = PanelSpec("e", "p", "y", ("x",))  # other features: another fingerprint
    assert panel.fingerprint() == _fingerprint_from_scratch(panel) != before


def test_report_figures_are_written_without_pyplot(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from types import SimpleNamespace
        import numpy as np, pandas as pd
        from ml import plots
        from ml.levels import LevelConfig
        out = Path({str(tmp_path)!r})
        plots.importance_plot({{"a": 0.3, "b": 0.1, "c": float("nan")}}, "gbm", out)
        rng = np.random.default_rng(0)
        pred = pd.DataFrame({{"label": (rng.random(5000) < 0.02).astype(int), "score": rng.random(5000) ** 4}})
        by = plots.levels_plot(SimpleNamespace(holdout_pred=pred), LevelConfig.parse(), out)
        assert int(by["rows"].sum()) == 5000, by
        print("pyplot" if "matplotlib.pyplot" in sys.modules else "no pyplot")
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=".", timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "no pyplot"
    for png in ("importance.png", "score_by_level.png"):
        data = (tmp_path / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000, png


def test_fit_sample_takes_the_same_rows_as_sampling_the_copied_fit_rows():
    from ml.train import fit_sample, sample_fit

    frame = _frame(n=300, periods=("2020-01", "2020-02", "2020-03", "2020-04", "2020-05"))
    frame.loc[frame.index % 7 == 0, ["x", "z"]] = [0.5, -0.5]  # identical rows: their occurrence counts
    panel = build(frame, SPEC, "sample.csv")
    periods = panel.periods()
    for span in (periods[:1], periods[:3], periods[1:4]):
        for max_neg in (None, 50, 400, 10_000):
            expected = sample_fit(panel, panel.rows(span), max_neg)
            got = fit_sample(panel, span, max_neg)
            pd.testing.assert_frame_equal(got, expected)
            if max_neg == 50:
                assert (got["y"] == 0).sum() < (panel.rows(span)["y"] == 0).sum()
                assert got["y"].sum() == panel.rows(span)["y"].sum()  # every case kept
