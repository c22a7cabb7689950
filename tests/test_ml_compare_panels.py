"""bench/ml/compare_panels.py: the tool that found why the firm model differed between installations of the same
world (flow alerts' tie-break on account tokens, bench/README.md). ``compare`` must see a one-row difference in
one column, ignore row order, and name a missing file in one line with exit code 2."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd


def _tool():
    path = Path(__file__).resolve().parents[1] / "bench" / "ml" / "compare_panels.py"
    spec = importlib.util.spec_from_file_location("compare_panels", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_compare_finds_the_differing_rows_and_ignores_order(tmp_path, capsys):
    tool = _tool()
    a = pd.DataFrame({"firm_uscc": ["91A", "91B", "91C"], "period": ["2025-01-31"] * 3,
                      "flow_alert_accounts": [1.0, 0.0, 0.0], "loan_balance_log": [1.5, np.nan, 2.25]})
    a.to_parquet(tmp_path / "a.parquet")
    a.sample(frac=1.0, random_state=1).to_parquet(tmp_path / "same.parquet")
    b = a.copy()
    b.loc[0, "flow_alert_accounts"] = 0.0
    b.to_parquet(tmp_path / "b.parquet")
    assert tool.main(["compare", "firm", str(tmp_path / "a.parquet"), str(tmp_path / "same.parquet")]) == 0
    assert "identical bit for bit" in capsys.readouterr().out
    assert tool.main(["compare", "firm", str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")]) == 1
    out = capsys.readouterr().out
    assert "flow_alert_accounts: 1 rows differ" in out and "91A" in out and "loan_balance_log" not in out


def test_a_missing_file_is_one_line_and_exit_2(tmp_path, capsys):
    assert _tool().main(["compare", "firm", str(tmp_path / "none.parquet"), str(tmp_path / "none.parquet")]) == 2
    assert capsys.readouterr().err.strip() == f"{tmp_path / 'none.parquet'}: file not found"
