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
