"""The dbt warehouse built on the `tiny` universe (seed 11, the same as the end-to-end test, so the two
share one ingest; fixture ``built_warehouse`` in conftest.py): every model and dbt test passes, and the
marts find what the simulator planted."""

from __future__ import annotations

import csv
import json
import re

import pytest

from include.config import paths
from tests.conftest import ORPHAN

pytestmark = pytest.mark.slow


def _truth() -> dict:
    return json.loads((paths().ground_truth / "ground_truth.json").read_text())


def test_indicator_breaches_match_the_planted_capital_breaches(built_warehouse):
    with built_warehouse.connect() as conn:
        rows = conn.execute("select institution_code, period::text from marts_prudential.prudential_indicators "
                            "where indicator_code = 'total_car' and is_breach").fetchall()
        grain = conn.execute("select count(*), count(distinct (institution_code, period)) "
                             "from intermediate.int_prudential__indicators").fetchone()
    planted = {(b["institution_code"], b["report_period"]) for b in _truth()["capital_breaches"]
               if "total" in b["breached"]}
    assert set(rows) == planted and planted
    assert grain[0] == grain[1] > 0


def test_npl_understatement_is_found_against_the_loan_detail(built_warehouse):
    with (paths().ground_truth / "npl_understated.csv").open(encoding="utf-8") as f:
        planted = {(r["institution_code"], r["report_period"]) for r in csv.DictReader(f)}
    with built_warehouse.connect() as conn:
        found = set(conn.execute("select entity_id, period::text from marts_warnings.warnings "
                                 "where rule_code = 'npl_understated'").fetchall())
    assert found == planted and planted


def test_an_institution_known_only_from_its_reports_stays_in_the_portraits(built_warehouse):
    with built_warehouse.connect() as conn:
        row = conn.execute("select has_institution_record, bureau_code, total_car, latest_quarter::text "
                           "from marts_portraits.institution_portrait where institution_code = %s",
                           (ORPHAN,)).fetchone()
        # the simulated world's institutions (other tests' submissions share the session warehouse)
        others = conn.execute("select count(*) filter (where has_institution_record), count(*) "
                              "from marts_portraits.institution_portrait where institution_code = %s or "
                              "institution_code in (select institution_code from ops.submission "
                              "where landing_path like %s)", (ORPHAN, str(paths().landing) + "/%")).fetchone()
    assert row is not None and row[0] is False and row[1] is None
    assert row[2] is not None and row[3] == "2025-03-31"
    assert others[0] == others[1] - 1 > 0


def test_scorecard_and_portraits_carry_the_loaders_timeliness(built_warehouse):
    from include.cli.warehouse import _dbt

    # other tests load into the shared warehouse after its build (the loader refreshes ops.dq_summary):
    # rebuild the scorecard and the portraits from ops as they stand now, then compare
    proc = _dbt(["build", "--select", "dq_scorecard+", "--exclude", "resource_type:test"], check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    with built_warehouse.connect() as conn:
        mismatched = conn.execute(
            "select count(*) from ops.dq_summary s "
            "left join marts_quality.dq_scorecard c using (institution_code, period) "
            "where c.days_late is distinct from s.days_late or c.versions_needed is distinct from s.versions_needed"
        ).fetchone()[0]
        late = dict(conn.execute(
            "select s.institution_code, count(*) filter (where not s.on_time) from ops.dq_summary s "
            "where s.period > (select max(period) from ops.dq_summary m where m.institution_code = s.institution_code) "
            "- interval '12 months' group by 1").fetchall())
        portrait = dict(conn.execute("select institution_code, dq_late_periods "
                                     "from marts_portraits.institution_portrait").fetchall())
    assert mismatched == 0
    # every portrait institution submitted something, so each has a data-quality record (REG0000, the
    # regulator's own system, submits ratings and cases but is not a supervised institution)
    assert portrait == {code: late[code] for code in portrait} and any(portrait.values()), (portrait, late)


def test_guarantee_circles_and_chains_are_the_planted_ones(built_warehouse):
    truth = _truth()
    with built_warehouse.connect() as conn:
        rows = conn.execute("select network_type, members from marts_networks.guarantee_networks").fetchall()
    found = {(t, frozenset(m)) for t, m in rows}
    planted = {("circle", frozenset(c["members_uscc"])) for c in truth["guarantee_circles"]} | \
              {("chain", frozenset(c["members_uscc"])) for c in truth["guarantee_chains"]}
    assert found == planted


def test_flow_alerts_queue_every_scheme_account_with_evidence(built_warehouse):
    """flow_alerts is the top of a ranked queue (#12): at most var('flow_alert_capacity') alerts per bureau
    and month, every scheme collection account of tiny/11 reaches it, and every alert carries evidence."""
    from bench.warehouse.evaluate_patterns import evaluate

    result = evaluate(paths().ground_truth, built_warehouse.admin_url)
    assert result["positives"] > 0
    assert result["recall"] == 1.0, result
    with built_warehouse.connect() as conn:
        fullest = conn.execute("select max(n) from (select count(*) as n from marts_flows.flow_alerts "
                               "group by bureau_code, period) as q").fetchone()[0]
        evidence = conn.execute("select count(*) from marts_flows.flow_alerts where payers < 1 "
                                "or cardinality(example_inflow_txn_ids) = 0 "
                                "or jsonb_typeof(evidence) <> 'object'").fetchone()[0]
    assert fullest <= 5
    assert evidence == 0, "every alert carries its evidence and example transactions"


def test_model_scores_reach_the_portraits_and_warnings(built_warehouse):
    """ml.risk_scores is empty until scoring runs (the build above proves that works); once the scorer
    writes a score, the portrait and the entity's warnings carry its level and reasons: an institution's
    and a firm's (the firm model scores firms by USCC; tiny/11's scheme firms have flow-pattern warnings)."""
    from include.cli.warehouse import _dbt

    with built_warehouse.connect() as conn:
        code, period = conn.execute("select entity_id, period from marts_warnings.warnings "
                                    "where entity_type = 'institution' order by period desc limit 1").fetchone()
        firm, firm_period = conn.execute("select entity_id, period from marts_warnings.warnings "
                                         "where entity_type = 'firm' and period is not null "
                                         "order by period desc, entity_id limit 1").fetchone()
    with built_warehouse.connect("scorer") as conn:
        for etype, eid, p, prob, level in (("institution", code, period, 0.91, "red"),
                                           ("firm", firm, firm_period, 0.42, "orange")):
            conn.execute("insert into ml.risk_scores (entity_type, entity_id, period, model_name, model_version, "
                         "probability, warning_level, reasons) values (%s, %s, %s, 'test_model', 'v1', %s, %s, "
                         "'[{\"feature\": \"npl_ratio\"}]') on conflict do nothing", (etype, eid, p, prob, level))
    try:
        _dbt(["run", "-s", "stg_ml__latest_risk_scores+"])
        with built_warehouse.connect() as conn:
            portrait = conn.execute("select risk_warning_level, risk_probability from "
                                    "marts_portraits.institution_portrait where institution_code = %s",
                                    (code,)).fetchone()
            levels = {r[0] for r in conn.execute("select risk_warning_level from marts_warnings.warnings "
                                                 "where entity_id = %s", (code,))}
            firm_portrait = conn.execute("select risk_warning_level, risk_probability from "
                                         "marts_portraits.firm_portrait where firm_uscc = %s", (firm,)).fetchone()
            firm_levels = {r[0] for r in conn.execute("select risk_warning_level from marts_warnings.warnings "
                                                      "where entity_type = 'firm' and entity_id = %s", (firm,))}
        assert portrait == ("red", 0.91)
        assert levels == {"red"}
        assert firm_portrait == ("orange", 0.42)
        assert firm_levels == {"orange"}
    finally:
        with built_warehouse.connect("scorer") as conn:
            conn.execute("delete from ml.risk_scores where model_name = 'test_model'")
        _dbt(["run", "-s", "stg_ml__latest_risk_scores+"])


def test_the_data_asset_map_carries_the_bilingual_docs_and_the_dashboards(built_warehouse):
    """`make docs` (dbt docs generate): the catalog read back from PostgreSQL holds the persisted zh/en
    column comments of the marts, and the manifest the exposures (dashboards) with what they read."""
    from include.cli.warehouse import _dbt

    proc = _dbt(["docs", "generate"], check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    target = paths().dbt_target
    assert (target / "index.html").exists()
    catalog = json.loads((target / "catalog.json").read_text())
    portrait = next(n for k, n in catalog["nodes"].items() if k.endswith(".institution_portrait"))
    comments = {name: c["comment"] or "" for name, c in portrait["columns"].items()}
    bilingual = re.compile(r"[\u4e00-\u9fff].*/.*[A-Za-z]")
    assert comments and not [n for n, c in comments.items() if not bilingual.search(c)], comments
    manifest = json.loads((target / "manifest.json").read_text())
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert "supervisor_morning_dashboard" in exposures
    assert any(n.endswith(".firm_portrait") for n in exposures["supervisor_morning_dashboard"]["depends_on"]["nodes"])
