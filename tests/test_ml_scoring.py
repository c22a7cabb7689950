"""The champion scores the latest period into ml.risk_scores (as the scorer role), with levels,
overrides and reasons; drift lands in ml.feature_drift; a rerun changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
from test_ml_panel_data import write_csv

from ml import reasons, registry, scoring, workflow
from ml.levels import LevelConfig
from ml.panel import PanelSpec, load
from ml.train import TrainConfig

SPEC = PanelSpec("borrower", "month", "defaults_next_3m", ("dti", "utilisation", "arrears_days", "tenure_years"),
                 "arrears_days", extra=("flagged_by_collections",))
CUTOFFS = LevelConfig.parse("red=0.5,orange=0.2,yellow=0.08,blue=0.03")


@pytest.fixture(scope="module")
def scored(warehouse):
    panel = load(str(write_csv(warehouse.state.home / "loans.csv", seed=5, n_borrowers=700)), SPEC)
    # a model whose reasons are exact (linear), and a rule override on the collections flag
    out = workflow.train(panel, "loan_scoring", ("logreg",), TrainConfig())
    assert workflow.promote(panel, "loan_scoring").promote
    from ml.levels import Override

    cfg = LevelConfig(CUTOFFS.cutoffs, (Override("flagged_by_collections", "red", "collections_flag", "催收标记",
                                                 "flagged by collections"),))
    url = warehouse.role_url("scorer")
    first = scoring.score(panel, "loan_scoring", "firm", url, cfg, {"dti": ("负债收入比", "debt-to-income")})
    second = scoring.score(panel, "loan_scoring", "firm", url, cfg, {"dti": ("负债收入比", "debt-to-income")})
    with warehouse.connect() as conn:
        rows = conn.execute("select entity_id, probability, warning_level, reasons, overrides from ml.risk_scores "
                            "where model_name = 'loan_scoring' order by entity_id").fetchall()
        drift = conn.execute("select feature, psi, level from ml.feature_drift where model_name = 'loan_scoring'"
                             ).fetchall()
    return {"panel": panel, "train": out, "first": first, "second": second, "rows": rows, "drift": drift,
            "cfg": cfg}


def test_latest_period_is_scored_once_per_entity_even_when_rerun(scored):
    panel = scored["panel"]
    latest = max(panel.periods(labelled_only=False))
    n_latest = int((panel.frame["month"] == latest).sum())
    assert scored["first"]["period"] == str(latest.date())
    assert scored["first"]["entities"] == scored["second"]["entities"] == n_latest == len(scored["rows"])


def test_levels_follow_the_cutoffs_unless_an_override_raised_them(scored):
    cut = scored["cfg"].cutoffs
    for _, p, level, _, overrides in scored["rows"]:
        if overrides:
            assert level == "red" and overrides[0]["rule"] == "collections_flag"
        else:
            expect = next((lv for lv in ("red", "orange", "yellow", "blue") if p >= cut[lv]), "none")
            assert level == expect
    assert any(r[4] for r in scored["rows"]), "the panel has flagged borrowers: some overrides expected"


def test_scorecard_contributions_add_up_to_its_log_odds(scored):
    model, _ = registry.load("loan_scoring")
    panel = scored["panel"]
    latest = panel.frame[panel.frame["month"] == max(panel.periods(labelled_only=False))].reset_index(drop=True)
    contrib = model.contributions(latest)
    base = model.base.predict_proba(latest[model.features])[:, 1]
    assert np.allclose(contrib.sum(axis=1) + model.base[-1].intercept_[0], np.log(base / (1 - base)), atol=1e-6)


def test_reasons_are_values_against_peers_in_words_without_coefficients(scored):
    model, _ = registry.load("loan_scoring")
    panel = scored["panel"]
    latest = panel.frame[panel.frame["month"] == max(panel.periods(labelled_only=False))].reset_index(drop=True)
    medians = latest[model.features].median().to_dict()
    eff = reasons.effects(model, latest, medians)
    by_id = {r[0]: r[3] for r in scored["rows"]}
    said = 0
    for i in range(len(latest)):
        got = by_id[latest["borrower"].iat[i]]
        j = [model.features.index(g["feature"]) for g in got]
        assert len(got) <= 3 and all(eff[i, k] > 0 for k in j)  # moving it to the peer median lowers the risk
        assert [eff[i, k] for k in j] == sorted((eff[i, k] for k in j), reverse=True)
        for g in got:
            said += 1
            assert set(g) == {"feature", "value", "peer_median", "direction", "peer_share_passed", "text_en", "text_zh"}
            assert g["peer_median"] == pytest.approx(medians[g["feature"]])
            assert g["direction"] == ("above_peers" if g["value"] > g["peer_median"] else "below_peers")
            assert "peer median" in g["text_en"] and "同业中位数" in g["text_zh"]
    assert said > 0
    dti = next(g for r in scored["rows"] for g in r[3] if g["feature"] == "dti")
    assert dti["text_zh"].startswith("负债收入比为") and dti["text_en"].startswith("debt-to-income ")


def test_drift_is_stored_per_feature(scored):
    assert {r[0] for r in scored["drift"]} == set(SPEC.features)
    assert all(r[1] >= 0 and r[2] in ("stable", "moderate", "large") for r in scored["drift"])

