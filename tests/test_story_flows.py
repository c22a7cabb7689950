"""The closing story says why the suspicious-flow queue has no account risk score (#12): the account
model's score reaches supervisors only when it passed its guardrails (ml.model_status)."""

from __future__ import annotations

from include.cli.story import render

BASE = {"where_to_click": {}}


def test_the_story_says_why_alerts_have_no_account_score():
    why = "no model: does not beat the rule or chance (beats_baseline: PR-AUC 0.205 vs rule baseline 0.229)"
    lines = render({**BASE, "flows": {"flow_alerts": 40, "awaiting_decision": 38, "account_model": why}})
    i = lines.index("Suspicious-flow queue: 38 alerts awaiting a decision (of 40)")
    assert lines[i + 1] == f"  no account risk score on the alerts: {why}"


def test_no_line_when_the_account_model_scores():
    lines = render({**BASE, "flows": {"flow_alerts": 40, "awaiting_decision": 38, "account_model": None}})
    assert not [x for x in lines if "account risk score" in x]


def test_the_story_says_why_no_institution_is_warned_and_what_to_act_on():
    why = "no model: too few cases: min_fit_positives: 4 events in the fit periods (need 10)"
    instead = {"labelled_quarters": 4, "labelled_from": "2024-03-31", "labelled_until": "2024-12-31",
               "labelled_events": 14, "period": "2025-12-31", "below_capital_minimum": 6,
               "lowest_car": [{"institution": "K0002", "name": "Bank A", "total_car": 0.0711},
                              {"institution": "S0016", "name": "Bank B", "total_car": None}]}
    levels = dict.fromkeys(("red", "orange", "yellow", "blue", "none"), 0)
    lines = render({**BASE, "warnings": {"institutions_by_level": levels, "model_status": why, "top_at_risk": [],
                                         "instead": instead}})
    i = lines.index(f"Institutions by early-warning level: none yet, the institution model is not in use: {why}")
    assert lines[i + 1] == ("  a warning is the probability of a rating 5/6/S or a takeover within four quarters; "
                            "4 quarters have all four rated (2024-03-31..2024-12-31, 14 events): the models are "
                            "fitted, calibrated and tested out of time on these alone")
    assert lines[i + 2] == ("  instead, 6 institutions are below a capital minimum in 2025-12-31 (a rule breached, "
                            "not a warning level): Bank A (K0002, total CAR 7.11%), Bank B (S0016)")


def test_the_riskiest_institutions_are_named_with_their_level_and_reasons():
    levels = {"red": 0, "orange": 2, "yellow": 0, "blue": 5, "none": 3}
    top = [{"institution": "K0002", "name": "Bank A", "period": "2025-12-31", "probability": 0.13, "level": "orange",
            "reasons": ["total capital adequacy ratio below the regulatory minimum"]}]
    lines = render({**BASE, "warnings": {"institutions_by_level": levels, "model_status": None,
                                         "scored_by": "scored by institution_risk v2 (gbm)", "top_at_risk": top}})
    i = lines.index("Institutions by early-warning level: red 0, orange 2, yellow 0, blue 5, none 3")
    assert lines[i + 1:i + 4] == ["  scored by institution_risk v2 (gbm)",
                                  "  orange: Bank A (K0002, 2025-12-31, p=0.13)",
                                  "       - total capital adequacy ratio below the regulatory minimum"]
