"""The tiny demo world (tiny/11, a private copy of the session's built warehouse): the institution panel
has too few cases for a model a supervisor may trust, so no institution model is promoted,
``ml.model_status`` says why and the institution portraits show "no model: too few cases" with the
reason instead of a level."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def tiny_institutions(built_copy):
    from include.cli.warehouse import _dbt
    from ml import dag_tasks, fastreg

    url = built_copy.role_url("scorer")
    out = dag_tasks.score_preset("institution", url)
    # `run`, not `build`: the relationship tests between marts are not this test's
    proc = _dbt(["run", "--select", "stg_ml__model_status+", "stg_ml__latest_risk_scores+"], check=False)
    with built_copy.connect() as conn:
        status = conn.execute("select status, short_en, reason_en, reason_zh from ml.model_status "
                              "where entity_type = 'institution'").fetchone()
        portraits = conn.execute("select institution_code, risk_warning_level, risk_model_status, "
                                 "risk_model_short_en, risk_model_note_en from marts_portraits.institution_portrait"
                                 ).fetchall() if proc.returncode == 0 else []
    return {"out": out, "proc": proc, "status": status, "portraits": portraits,
            "champion": fastreg.alias_version("institution_risk", "champion"),
            "versions": fastreg.versions("institution_risk")}


def test_no_institution_model_reaches_supervisors(tiny_institutions):
    t = tiny_institutions
    assert t["out"]["scored"] is False
    assert t["out"]["reason"].startswith("no model: too few cases"), t["out"]["reason"]
    assert t["champion"] is None
    for v in t["versions"]:  # whatever was trained failed the guardrails, and says so
        assert v["guardrails"].startswith("failed"), v


def test_the_portraits_say_why_there_is_no_level(tiny_institutions):
    t = tiny_institutions
    assert t["proc"].returncode == 0, t["proc"].stdout[-4000:]
    status, short, reason_en, reason_zh = t["status"]
    assert status == "no_model" and short == "no model: too few cases"
    assert reason_en.startswith("no model: too few cases: ") and reason_zh.startswith("无模型：案例过少：")
    assert t["portraits"]
    for code, level, st, sh, note in t["portraits"]:
        assert level is None and st == "no_model" and sh == "no model: too few cases" and note == reason_en, code
