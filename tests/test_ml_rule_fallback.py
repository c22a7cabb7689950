"""When no learned candidate beats the panel's rule, the rule itself, calibrated, is what supervisors get
(``ml.dag_tasks.rule_instead``), said to be the rule's; a rule no better than chance still gives nothing.

The panel is unrelated to the simulator: entities by month whose events follow one count (the rule) and two
columns of noise, so the learned models can at best rank like the rule, and their guardrail against the
rule fails."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml import dag_tasks, registry, scoring
from ml.candidates import KINDS
from ml.levels import LevelConfig
from ml.panel import PanelSpec, load
from ml.presets import PRESETS, Preset

TEXTS = {"breaches": ("违规次数", "limit breaches"), "noise_a": ("噪声甲", "noise a"), "noise_b": ("噪声乙", "noise b")}


def _panel_csv(path, n: int = 900, months: int = 12, seed: int = 11):
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.6, 1.2, n)  # some entities breach often, most rarely
    rows = []
    for m, month in enumerate(pd.date_range("2022-01-31", periods=months, freq="ME")):
        breaches = rng.poisson(rate)
        label = (rng.random(n) < 1 / (1 + np.exp(-(-4.6 + 0.85 * breaches)))).astype(float)
        rows.append(pd.DataFrame({"entity": [f"E{i:04d}" for i in range(n)], "month": month.date().isoformat(),
                                  "breaches": breaches, "noise_a": rng.normal(0, 1, n).round(4),
                                  "noise_b": rng.uniform(0, 1, n).round(4),
                                  "label": label if m < months - 1 else np.nan}))
    pd.concat(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def fallback(warehouse):
    mp = pytest.MonkeyPatch()
    csv = _panel_csv(warehouse.state.home / "breaches.csv")
    spec = PanelSpec("entity", "month", "label", ("noise_a", "noise_b", "breaches"), "breaches")
    preset = Preset("breach_rule_test", "firm", str(csv), spec, TEXTS)
    mp.setitem(PRESETS, "breach_rule_test", preset)
    noise = Preset("noise_rule_test", "firm", str(csv), PanelSpec("entity", "month", "label", spec.features,
                                                                   "noise_b"), TEXTS)
    mp.setitem(PRESETS, "noise_rule_test", noise)
    try:
        panel = load(str(csv), spec)
        url = warehouse.role_url("scorer")
        trained = [dag_tasks.train_candidate("breach_rule_test", k, url, panel) for k in KINDS]
        decision = dag_tasks.choose_and_promote("breach_rule_test", trained, url, panel)
        scored = scoring.score(panel, "breach_rule_test", "firm", url, LevelConfig.parse(), TEXTS)
        with warehouse.connect() as conn:
            rows = conn.execute("select entity_id, probability, warning_level, reasons from ml.risk_scores "
                                "where model_name = 'breach_rule_test'").fetchall()
            status = conn.execute("select status, reason_en from ml.model_status where model_name = "
                                  "'breach_rule_test'").fetchone()
        noise_rule = dag_tasks.rule_instead("noise_rule_test", url, load(str(csv), noise.spec), "test")
        yield {"panel": panel, "trained": trained, "decision": decision, "scored": scored, "rows": rows,
               "status": status, "noise_rule": noise_rule}
    finally:
        mp.undo()


def test_the_learned_models_fail_against_the_rule_and_the_calibrated_rule_is_promoted(fallback):
    for t in fallback["trained"]:
        failed = {r["rule"] for r in t["guardrails"]["rules"] if not r["passed"]}
        assert "beats_baseline" in failed, (t["candidate"], t["guardrails"]["failed"])
    d = fallback["decision"]
    assert d["promoted"] and d["short"] == "rule", d
    assert "calibrated rule breaches" in d["reason"] and "no learned model passed" in d["reason"]
    model, version = registry.load("breach_rule_test", "champion")
    assert (model.kind, model.features, version) == ("rule", ["breaches"], d["challenger"])
    rules = {r["rule"]: r["passed"] for r in model.meta["guardrails"]["rules"]}
    assert rules["beats_chance"] and rules["calibrated"] and "beats_baseline" not in rules  # it is the rule


def test_the_rule_scores_rank_as_the_rule_with_reasons_in_words(fallback):
    panel, rows = fallback["panel"], fallback["rows"]
    latest = panel.frame[panel.frame["month"] == panel.frame["month"].max()].set_index("entity")["breaches"]
    assert len(rows) == len(latest) == fallback["scored"]["entities"]
    prob = pd.Series({e: p for e, p, _, _ in rows})
    by_count = prob.groupby(latest.reindex(prob.index)).agg(["min", "max"]).sort_index()
    assert (by_count["min"].iloc[1:].to_numpy() >= by_count["max"].iloc[:-1].to_numpy() - 1e-12).all()  # monotone
    assert by_count["max"].iloc[-1] > 5 * by_count["max"].iloc[0]
    top = max(rows, key=lambda r: r[1])
    assert top[3] and top[3][0]["feature"] == "breaches" and top[3][0]["text_en"].startswith("limit breaches ")
    assert fallback["status"][0] == "scored"
    assert "the calibrated rule breaches" in fallback["status"][1]


def test_a_rule_no_better_than_chance_gives_nothing(fallback):
    assert fallback["noise_rule"].startswith("the rule noise_b alone, calibrated, does not pass either: ")
    assert registry.versions("noise_rule_test") == [] or all(
        "champion" not in v["aliases"] for v in registry.versions("noise_rule_test"))
