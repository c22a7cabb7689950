"""The quality gate (include/ingest/quality.py) on real landing batches in PostgreSQL, the masking of
personal identifiers (include/privacy/masking.py), and the committed GX project (expectations/)."""

from __future__ import annotations

import filecmp
import itertools
import json
import shutil
from pathlib import Path

import pytest

from include.config import GX_ROOT
from include.ingest import gx_runtime, quality
from include.privacy.masking import mask, mask_sql
from include.registry import expectations, gx_project
from include.registry.datasets import DATASETS, Dataset, Rule, get
from include.registry.ddl import landing_ddl, landing_table, q

PERIOD = "2024-03-31"
VALID_USCC = "91350100M000100Y43"
VALID_RESIDENT_ID = "11010519491231002X"
BAD_RESIDENT_ID = "110105194912310021"  # the same with a wrong check character (X is right)

CAPITAL = get("capital_report")
INSTITUTION = get("institution")
INDIVIDUAL = get("customer_individual")

_batch_ids = itertools.count(700_001)


@pytest.fixture(scope="module")
def loader_url(warehouse) -> str:
    return warehouse.role_url("loader")


@pytest.fixture
def landing(warehouse):
    """``landing(dataset, rows) -> table``: a one-batch landing table as the loader creates it.

    ``table=``/``batch_id=``/``period=`` add the rows as one more batch of an existing (or new) group
    table. Within each batch, row i has ``_line`` i + 1 (restarted per file, as the loader's COPY
    does). Tables are dropped after the test."""
    created: list[str] = []

    def make(dataset: Dataset, rows: list[dict], *, table: str | None = None, batch_id: int | None = None,
             period: str = PERIOD) -> str:
        batch_id = next(_batch_ids) if batch_id is None else batch_id
        table = table or landing_table(dataset, batch_id)
        cols = ["_batch_id", "_period", "_line", *dataset.column_names]
        insert = (f"insert into landing.{q(table)} ({', '.join(q(c) for c in cols)}) overriding system value "
                  f"values ({', '.join(['%s'] * len(cols))})")
        with warehouse.connect("loader", autocommit=True) as conn:
            if table not in created:
                conn.execute(landing_ddl(dataset, table))
                created.append(table)
            with conn.cursor() as cur:
                cur.executemany(insert, [[batch_id, period, line, *(row.get(c) for c in dataset.column_names)]
                                         for line, row in enumerate(rows, start=1)])
        return table

    yield make
    with warehouse.connect("loader", autocommit=True) as conn:
        for table in created:
            conn.execute(f"drop table if exists landing.{q(table)}")


def capital_rows(n: int = 5, period: str = PERIOD, first: int = 1) -> list[dict]:
    return [{"institution_code": f"B{i:04d}", "report_period": period, "cet1_capital": "800.00",
             "tier1_capital": "900.50", "total_capital": "1000", "credit_rwa": "7000.00",
             "market_rwa": "500.00", "operational_rwa": "800.00", "total_rwa": "8300.00"}
            for i in range(first, first + n)]


def institution_rows(n: int = 3) -> list[dict]:
    return [{"institution_code": f"B{i:04d}", "report_period": PERIOD, "licence_no": f"B{i:04d}H110000001",
             "uscc": VALID_USCC, "name": f"Bank {i}", "institution_type": "city_commercial_bank",
             "bureau_code": "BJ", "region_code": "110000", "size_tier": "3", "established_date": "1996-01-31"}
            for i in range(1, n + 1)]


def individual_rows(n: int = 3) -> list[dict]:
    return [{"institution_code": "B0001", "report_period": PERIOD, "customer_id": f"C{i}",
             "resident_id": VALID_RESIDENT_ID, "name": "张三", "sex": "男", "birth_date": "1949-12-31",
             "phone": "13812345678", "region_code": "110105", "onboard_date": "2020-01-01"}
            for i in range(1, n + 1)]


def rule(outcome: quality.ValidationOutcome, name: str) -> quality.RuleResult:
    (found,) = [r for r in outcome.results if r.rule_name == name]
    return found


def lines(result: quality.RuleResult) -> list[int]:
    return [e["line"] for e in result.examples]


# --- the gate on capital_report batches --------------------------------------------------------------


def test_clean_batch_passes_every_rule(landing, loader_url):
    table = landing(CAPITAL, capital_rows(5))
    outcome = quality.validate_landing(loader_url, table, CAPITAL, PERIOD)
    assert outcome.passed
    assert [r.rule_name for r in outcome.results] == [r.name for r in quality.quality_rules(CAPITAL)]
    assert {r.rule_name for r in outcome.results} >= {f"type_{c}" for c in ("report_period", "total_rwa")}
    for r in outcome.results:
        assert (r.success, r.unexpected_count, r.examples, r.error) == (True, 0, [], None), r
        assert r.element_count == 5, r
    assert outcome.critical_failures == [] and outcome.warnings == []


def test_null_mandatory_value_is_a_critical_failure_with_its_line(landing, loader_url):
    rows = capital_rows(5)
    rows[2]["total_rwa"] = None  # line 3
    outcome = quality.validate_landing(loader_url, landing(CAPITAL, rows), CAPITAL, PERIOD)
    assert not outcome.passed
    assert [r.rule_name for r in outcome.critical_failures] == ["capital_report_not_null"]
    failed = rule(outcome, "capital_report_not_null")
    assert failed.severity == "critical" and failed.unexpected_count == 1
    assert failed.examples == [{"line": 3, "column": "total_rwa", "value": None}]
    assert failed.description_en.startswith("Mandatory fields of capital_report must be present (")
    assert "total_rwa" in failed.description_en and failed.description_zh == "资本充足率报表必填字段不能为空"


def test_empty_field_counts_as_missing(landing, loader_url):
    rows = capital_rows(3)
    rows[1]["cet1_capital"] = ""  # line 2
    outcome = quality.validate_landing(loader_url, landing(CAPITAL, rows), CAPITAL, PERIOD)
    assert lines(rule(outcome, "capital_report_not_null")) == [2]
    assert rule(outcome, "type_cet1_capital").success


def test_non_numeric_amount_fails_its_type_rule_only(landing, loader_url):
    rows = capital_rows(4)
    rows[1]["cet1_capital"] = "12a.5"  # line 2
    outcome = quality.validate_landing(loader_url, landing(CAPITAL, rows), CAPITAL, PERIOD)
    assert not outcome.passed
    assert [r.rule_name for r in outcome.critical_failures] == ["type_cet1_capital"]
    failed = rule(outcome, "type_cet1_capital")
    assert failed.examples == [{"line": 2, "column": "cet1_capital", "value": "12a.5"}]
    assert failed.unexpected_count == 1 and failed.element_count == 4
    # Every other rule ran to completion: no errors, and the bad cell is neither "missing" nor
    # compared (the CET1 <= tier 1 warning does not see it).
    assert all(r.error is None for r in outcome.results)
    assert rule(outcome, "capital_report_not_null").success
    assert rule(outcome, "capital_tiers_ordered").success


def test_amount_beyond_the_registry_precision_is_a_type_failure(landing, loader_url):
    rows = capital_rows(2)
    rows[0]["total_capital"] = "1e19"  # numeric(20,2) holds at most 18 integer digits
    outcome = quality.validate_landing(loader_url, landing(CAPITAL, rows), CAPITAL, PERIOD)
    assert lines(rule(outcome, "type_total_capital")) == [1]


def test_duplicate_key_fails_the_unique_rule(landing, loader_url):
    rows = capital_rows(4)
    rows[3]["institution_code"] = rows[0]["institution_code"]  # lines 1 and 4
    outcome = quality.validate_landing(loader_url, landing(CAPITAL, rows), CAPITAL, PERIOD)
    failed = rule(outcome, "capital_key_unique")
    assert not failed.success and not outcome.passed
    assert failed.unexpected_count == 2
    assert failed.examples == [
        {"line": 1, "column": "institution_code,report_period", "value": "B0001 | 2024-03-31"},
        {"line": 4, "column": "institution_code,report_period", "value": "B0001 | 2024-03-31"},
    ]


def test_a_date_not_written_in_iso_form_fails_its_type_rule(landing, loader_url):
    # PostgreSQL reads '20240331', '09/05/1992', 'today' and 'epoch' as dates; the contract takes ISO
    # dates only (issue #14), so such a value is a type failure, not a date (nor a duplicate key)
    rows = capital_rows(4)
    rows[1]["institution_code"] = rows[0]["institution_code"]
    for i, text in enumerate(("20240331", "today", "epoch"), start=1):
        rows[i]["report_period"] = text
    outcome = quality.validate_landing(loader_url, landing(CAPITAL, rows), CAPITAL, PERIOD)
    assert lines(rule(outcome, "type_report_period")) == [2, 3, 4]
    assert lines(rule(outcome, "capital_key_unique")) == []


def test_wrong_period_fails_period_match(landing, loader_url):
    rows = capital_rows(3)
    rows[1]["report_period"] = "2024-06-30"  # line 2
    outcome = quality.validate_landing(loader_url, landing(CAPITAL, rows), CAPITAL, PERIOD)
    failed = rule(outcome, "report_period_matches")
    assert not outcome.passed and not failed.success
    assert failed.examples == [{"line": 2, "column": "report_period", "value": "2024-06-30"}]


def test_missing_period_fails_period_match(landing, loader_url):
    rows = capital_rows(3)
    rows[2]["report_period"] = None  # line 3
    outcome = quality.validate_landing(loader_url, landing(CAPITAL, rows), CAPITAL, PERIOD)
    assert rule(outcome, "report_period_matches").examples == [
        {"line": 3, "column": "report_period", "value": None}]
    assert rule(outcome, "type_report_period").success  # missing is not malformed
    assert not outcome.passed


def test_period_is_a_parameter_of_the_run(landing, loader_url):
    table = landing(CAPITAL, capital_rows(2))
    assert quality.validate_landing(loader_url, table, CAPITAL, PERIOD).passed
    other = quality.validate_landing(loader_url, table, CAPITAL, "2024-06-30")
    assert [r.rule_name for r in other.critical_failures] == ["report_period_matches"]
    assert lines(rule(other, "report_period_matches")) == [1, 2]


def test_cet1_above_tier1_is_a_warning_and_the_batch_passes(landing, loader_url):
    rows = capital_rows(3)
    rows[2]["cet1_capital"] = "950.00"  # line 3: CET1 950.00 > tier 1 900.50
    outcome = quality.validate_landing(loader_url, landing(CAPITAL, rows), CAPITAL, PERIOD)
    assert outcome.passed
    assert outcome.critical_failures == []
    assert [r.rule_name for r in outcome.warnings] == ["capital_tiers_ordered"]
    assert rule(outcome, "capital_tiers_ordered").examples == [
        {"line": 3, "column": "cet1_capital,tier1_capital", "value": "950.00 | 900.50"}]


def test_negative_rwa_fails_between(landing, loader_url):
    rows = capital_rows(3)
    rows[0]["total_rwa"] = "-1.00"
    outcome = quality.validate_landing(loader_url, landing(CAPITAL, rows), CAPITAL, PERIOD)
    assert rule(outcome, "rwa_positive").examples == [{"line": 1, "column": "total_rwa", "value": "-1.00"}]
    assert not outcome.passed


# --- other datasets ------------------------------------------------------------------------------------


def test_bad_uscc_check_character_fails(landing, loader_url):
    rows = institution_rows(3)
    rows[1]["uscc"] = VALID_USCC[:-1] + "4"  # line 2
    outcome = quality.validate_landing(loader_url, landing(INSTITUTION, rows), INSTITUTION, PERIOD)
    assert not outcome.passed
    assert [r.rule_name for r in outcome.critical_failures] == ["uscc_check_character"]
    failed = rule(outcome, "uscc_check_character")
    assert failed.examples == [{"line": 2, "column": "uscc", "value": "91350100M000100Y44"}]


def test_resident_id_is_masked_everywhere(landing, loader_url, warehouse, tmp_path):
    rows = individual_rows(3)
    rows[1]["resident_id"] = BAD_RESIDENT_ID  # line 2
    rows[2]["phone"] = "12345678901"  # line 3: breaks the phone format (a warning), also personal
    docs = tmp_path / "docs"
    outcome = quality.validate_landing(loader_url, landing(INDIVIDUAL, rows), INDIVIDUAL, PERIOD, docs_dir=docs)
    assert rule(outcome, "customer_individual_resident_id").examples == [
        {"line": 2, "column": "resident_id", "value": "110105***********1"}]
    assert rule(outcome, "customer_individual_phone_format").examples == [
        {"line": 3, "column": "phone", "value": "123******01"}]
    assert BAD_RESIDENT_ID not in repr(outcome)
    # Nor in what GX stored or rendered.
    written = [*docs.rglob("*.html"), *(warehouse.state.gx_results / "validations").rglob("*.json")]
    assert written
    for f in written:
        text = f.read_text(encoding="utf-8")
        assert BAD_RESIDENT_ID not in text and "12345678901" not in text, f


# --- how the gate runs ---------------------------------------------------------------------------------


def test_data_docs_and_results_stay_outside_the_repository(landing, loader_url, warehouse, tmp_path):
    table = landing(CAPITAL, capital_rows(2))
    outcome = quality.validate_landing(loader_url, table, CAPITAL, PERIOD, docs_dir=tmp_path / "docs")
    assert outcome.data_docs_path == str(tmp_path / "docs" / "index.html")
    assert Path(outcome.data_docs_path).is_file()
    # results are filed under the run name "<table>-<period>"
    assert [p for p in (tmp_path / "docs" / "validations").rglob("*.html") if f"{table}-{PERIOD}" in str(p)]
    assert [p for p in (warehouse.state.gx_results / "validations").rglob("*.json") if table in str(p)]
    assert not [p for p in GX_ROOT.rglob("*") if table in str(p)]


def test_process_objects_are_reused_and_nothing_is_left_behind(landing, loader_url, warehouse):
    clean = landing(CAPITAL, capital_rows(2))
    dirty_rows = capital_rows(2)
    dirty_rows[0]["total_rwa"] = None
    dirty = landing(CAPITAL, dirty_rows)
    quality.validate_landing(loader_url, clean, CAPITAL, PERIOD)
    runtime = gx_runtime._RUNTIME
    slot = runtime.slots[(loader_url, CAPITAL.name)]
    assert not quality.validate_landing(loader_url, dirty, CAPITAL, PERIOD).passed  # a details pass
    assert quality.validate_landing(loader_url, clean, CAPITAL, PERIOD).passed
    assert gx_runtime._RUNTIME is runtime and runtime.slots[(loader_url, CAPITAL.name)] is slot
    # Only the per-dataset objects stay; the details pass cleaned up after itself.
    assert CAPITAL.name in runtime.datasources[loader_url].get_asset_names()
    assert not [c.name for c in runtime.context.checkpoints.all() if c.name.endswith("__failed")]
    assert not [s.name for s in runtime.context.suites.all() if s.name.endswith("__failed")]
    with warehouse.connect("loader") as conn:
        left = conn.execute("select count(*) from pg_tables where schemaname = 'landing' "
                            "and tablename like '%%\\_typed'").fetchone()[0]
    assert left == 0


def test_the_details_pass_replaces_stale_objects_and_cleans_up_when_it_fails(landing, loader_url):
    """The details checkpoint removes its GX objects by name (not by listing the stores): a stale one
    of the same name (an interrupted run) is replaced, and nothing stays after a pass that raised."""
    from types import SimpleNamespace

    import great_expectations as gx

    dirty_rows = capital_rows(2)
    dirty_rows[0]["total_rwa"] = None
    dirty = landing(CAPITAL, dirty_rows)
    first = quality.validate_landing(loader_url, dirty, CAPITAL, PERIOD)
    assert not first.passed
    runtime = gx_runtime._RUNTIME
    slot = runtime.slots[(loader_url, CAPITAL.name)]
    name = f"{slot.validation.name}__failed"
    before = sorted(v.name for v in runtime.context.validation_definitions.all())
    runtime.context.suites.add(gx.ExpectationSuite(name=name))  # a stale suite of the same name
    again = quality.validate_landing(loader_url, dirty, CAPITAL, PERIOD)
    assert [(r.rule_name, r.success, r.unexpected_count, r.examples) for r in again.results] == \
        [(r.rule_name, r.success, r.unexpected_count, r.examples) for r in first.results]
    with pytest.raises(RuntimeError, match="interrupted"):
        failed = [SimpleNamespace(expectation_config=e.configuration) for e in slot.validation.suite.expectations[:1]]
        with runtime.details_checkpoint(slot, failed) as run:
            assert callable(run)
            assert name in {s.name for s in runtime.context.suites.all()}
            raise RuntimeError("interrupted")
    for store in (runtime.context.checkpoints, runtime.context.validation_definitions, runtime.context.suites):
        assert name not in {o.name for o in store.all()}
    assert sorted(v.name for v in runtime.context.validation_definitions.all()) == before
    runtime._discard(name)  # nothing there: no error


def test_a_changed_dataset_definition_gets_its_own_suite(landing, loader_url):
    import dataclasses

    lenient = dataclasses.replace(  # total_rwa optional: the derived not_null rule no longer lists it
        CAPITAL, columns=tuple(dataclasses.replace(c, nullable=c.name == "total_rwa" or c.nullable)
                               for c in CAPITAL.columns),
        rules=tuple(r for r in CAPITAL.rules if r.kind != "not_null"))
    rows = capital_rows(2)
    rows[0]["total_rwa"] = None
    table = landing(CAPITAL, rows)
    assert quality.validate_landing(loader_url, table, lenient, PERIOD).passed
    assert not quality.validate_landing(loader_url, table, CAPITAL, PERIOD).passed


def test_a_rule_that_cannot_be_evaluated_fails_the_batch_with_its_error(landing, loader_url):
    import dataclasses

    broken = Rule("code_format", "regex", ("institution_code",), params={"pattern": "(B"},
                  en="Institution code format", zh="机构代码格式")
    odd = dataclasses.replace(CAPITAL, name="capital_report_odd", rules=CAPITAL.rules + (broken,))
    outcome = quality.validate_landing(loader_url, landing(CAPITAL, capital_rows(2)), odd, PERIOD)
    assert [r.rule_name for r in outcome.critical_failures] == ["code_format"]
    assert "regular expression" in rule(outcome, "code_format").error
    assert not outcome.passed


def test_missing_landing_table_raises(loader_url):
    with pytest.raises(Exception, match="does not exist"):
        quality.validate_landing(loader_url, "capital_report_b999999999", CAPITAL, PERIOD)


def test_unknown_rule_kind_is_refused():
    odd = Dataset(name="odd", family="detail", grain="month", columns=CAPITAL.columns, key=CAPITAL.key,
                  period_column="report_period", rules=(Rule("r", "telepathy", ("total_rwa",)),))
    with pytest.raises(ValueError, match="telepathy"):
        expectations.build_suite(odd)


# --- masking -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "pii", "masked"), [
    ("11010519491231002X", "resident_id", "110105***********X"),
    ("13812345678", "phone", "138******78"),
    ("6222020200112233445", "account", "***************3445"),
    ("张三丰", "name", "张**"),
    ("1234", "account", "****"),  # too short to keep anything
    ("x", "name", "*"),
    ("B0001", None, "B0001"),
    (None, "resident_id", None),
    ("secret", "passport", "******"),  # an unknown kind is masked completely
])
def test_mask(value, pii, masked):
    assert mask(value, pii) == masked


def test_mask_truncates_long_plain_values_and_is_idempotent():
    assert mask("a" * 100, None) == "a" * 61 + "..."
    for value, pii in (("11010519491231002X", "resident_id"), ("13812345678", "phone"), ("张三", "name")):
        assert mask(mask(value, pii), pii) == mask(value, pii)


def test_sql_mask_equals_python_mask(warehouse):
    values = ["11010519491231002X", "1101", "13812345678", "123", "6222020200112233445", "张三丰", "张", "", None]
    with warehouse.connect("loader") as conn:
        for pii in ("resident_id", "phone", "account", "name", "passport", None):
            got = conn.execute(f"select {mask_sql('v', pii)} from unnest(%s::text[]) with ordinality t(v, i) "
                               "order by i", (values,)).fetchall()
            assert [g[0] for g in got] == [mask(v, pii) if pii else v for v in values], pii


# --- the committed GX project (expectations/) ------------------------------------------------------------


@pytest.fixture(scope="module")
def committed_context(tmp_path_factory):
    """The committed project loaded by GX, from a copy (loading creates uncommitted/ directories)."""
    import great_expectations as gx

    root = tmp_path_factory.mktemp("gx") / "expectations"
    shutil.copytree(GX_ROOT, root, ignore=shutil.ignore_patterns("uncommitted"))
    return gx.get_context(mode="file", context_root_dir=str(root))


def test_committed_suites_equal_the_registry_suites(committed_context):
    assert sorted(s.name for s in committed_context.suites.all()) == sorted(DATASETS)
    for dataset in DATASETS.values():
        committed = committed_context.suites.get(dataset.name).to_json_dict()
        built = expectations.build_suite(dataset).to_json_dict()
        assert committed == built, (
            f"expectations/ is stale for {dataset.name}: run include.ingest.gx_project.write_project()")


def test_committed_checkpoints_run_the_suites_as_the_gate_does(committed_context):
    for dataset in DATASETS.values():
        checkpoint = committed_context.checkpoints.get(f"{dataset.name}_landing")
        assert checkpoint.result_format == expectations.RESULT_FORMAT
        (vd,) = checkpoint.validation_definitions
        assert vd.suite.name == dataset.name
        assert vd.data.data_asset.table_name == f"{dataset.name}_typed"
    source = committed_context.data_sources.get(expectations.DATASOURCE)
    assert str(source.connection_string) == "${" + expectations.URL_ENV + "}", "no credentials in the repository"


def test_regenerating_the_project_changes_no_committed_file(tmp_path):
    regenerated = tmp_path / "expectations"
    gx_project.write_project(regenerated)
    for sub in (".", "expectations", "checkpoints", "validation_definitions"):
        names = sorted(p.name for p in (regenerated / sub).iterdir() if p.suffix in (".json", ".yml"))
        committed = sorted(p.name for p in (GX_ROOT / sub).iterdir() if p.suffix in (".json", ".yml"))
        assert names == committed, sub
        match, mismatch, errors = filecmp.cmpfiles(regenerated / sub, GX_ROOT / sub, names, shallow=False)
        assert (mismatch, errors) == ([], []), f"stale files in expectations/{sub}: run write_project()"
    assert (GX_ROOT / ".gitignore").read_text().splitlines()[-1] == "uncommitted/"
    assert json.loads((GX_ROOT / "expectations" / "capital_report.json").read_text())["name"] == "capital_report"


# --- groups of batches ------------------------------------------------------------------------------


def _group(landing, batches: list[tuple[list[dict], str]]) -> tuple[str, dict[int, tuple[str, int]]]:
    """One group landing table holding several batches: [(rows, period)] -> (table, members)."""
    first = next(_batch_ids)
    table = landing_table(CAPITAL, first)
    members = {}
    for i, (rows, period) in enumerate(batches):
        batch_id = first if i == 0 else next(_batch_ids)
        landing(CAPITAL, rows, table=table, batch_id=batch_id, period=period)
        members[batch_id] = (period, len(rows))
    return table, members


def _shifted(rows: list[dict], offset: int) -> list[dict]:
    return [{**r, "institution_code": f"B{int(r['institution_code'][1:]) + offset:04d}"} for r in rows]


def test_a_clean_group_passes_every_batch_with_one_screen(landing, loader_url):
    table, members = _group(landing, [(_shifted(capital_rows(3), 10 * i), PERIOD) for i in range(4)])
    outcomes = quality.validate_group(loader_url, table, CAPITAL, members)
    assert set(outcomes) == set(members)
    for batch_id, out in outcomes.items():
        assert out.passed
        assert all(r.success for r in out.results)
        assert rule(out, "capital_report_not_null").element_count == members[batch_id][1]


def test_a_failing_batch_in_a_group_is_isolated_with_its_lines(landing, loader_url):
    bad = _shifted(capital_rows(3), 20)
    bad[1]["total_capital"] = None
    table, members = _group(landing, [(_shifted(capital_rows(3), 0), PERIOD), (_shifted(capital_rows(3), 10), PERIOD),
                                      (bad, PERIOD), (_shifted(capital_rows(3), 30), PERIOD)])
    bad_id = list(members)[2]
    outcomes = quality.validate_group(loader_url, table, CAPITAL, members)
    assert not outcomes[bad_id].passed
    assert lines(rule(outcomes[bad_id], "capital_report_not_null")) == [2]
    assert all(outcomes[i].passed for i in members if i != bad_id)


def test_a_batch_with_another_batchs_period_is_caught_in_a_group(landing, loader_url):
    # Both periods are in the group, so only the per-batch period check can catch this one.
    other = "2024-06-30"
    wrong = _shifted(capital_rows(2), 10)  # report_period = PERIOD, but submitted for `other`
    right = [{**r, "report_period": other} for r in _shifted(capital_rows(2), 20)]
    table, members = _group(landing, [(capital_rows(2), PERIOD), (wrong, other), (right, other)])
    wrong_id = list(members)[1]
    outcomes = quality.validate_group(loader_url, table, CAPITAL, members)
    assert not outcomes[wrong_id].passed
    assert not rule(outcomes[wrong_id], "report_period_matches").success
    assert [i for i, o in outcomes.items() if not o.passed] == [wrong_id]


def test_the_same_key_in_two_batches_of_a_group_is_no_duplicate(landing, loader_url):
    # Uniqueness is per file: two files of a group may both carry B0001 for the period.
    table, members = _group(landing, [(capital_rows(2), PERIOD), (capital_rows(2), PERIOD)])
    outcomes = quality.validate_group(loader_url, table, CAPITAL, members)
    assert all(o.passed for o in outcomes.values())


def test_dense_failures_in_a_group_are_each_reported_and_the_index_lists_them_once_built(landing, loader_url,
                                                                                        tmp_path):
    """Six batches of eight failing (a rule failing month after month): each failing batch still gets its own
    outcome with its line, the clean ones pass, and the Data Docs index, built once at the group's end
    (not once per batch), links every failing batch's validation page."""
    rows = []
    for i in range(8):
        r = _shifted(capital_rows(2), 10 * i)
        if i not in (0, 5):
            r[1]["total_capital"] = None
        rows.append((r, PERIOD))
    table, members = _group(landing, rows)
    ids = list(members)
    docs = tmp_path / "docs"
    outcomes = quality.validate_group(loader_url, table, CAPITAL, members, docs_dir=docs)
    failing = [ids[i] for i in range(8) if i not in (0, 5)]
    assert sorted(i for i, o in outcomes.items() if not o.passed) == sorted(failing)
    for i in failing:
        assert lines(rule(outcomes[i], "capital_report_not_null")) == [2]
    index = (docs / "index.html").read_text()
    for i in failing:
        assert f"{table}_b{i}" in index, i


def _seen(out):
    """What the institution is told of a batch, rule by rule."""
    return [(r.rule_name, r.severity, r.success, r.element_count, r.unexpected_count, r.examples, r.error)
            for r in out.results]


def _validate_screens_counted(monkeypatch, loader_url, table, members):
    """validate_group with its screens counted ((batches, through a view) each) and no attribution allowed."""
    screens = []
    real = quality._GroupValidation.screen

    def counted(self, batch_ids, keep=False, view=False):
        screens.append((len(batch_ids), view))
        return real(self, batch_ids, keep, view)

    def no_attribution(self, batch_ids):
        raise AssertionError("attribution ran")

    monkeypatch.setattr(quality._GroupValidation, "screen", counted)
    monkeypatch.setattr(quality._GroupValidation, "attribute", no_attribution)
    try:
        return quality.validate_group(loader_url, table, CAPITAL, members), screens
    finally:
        monkeypatch.undo()


def test_a_failing_group_is_decided_by_one_details_run_not_bisected(landing, loader_url, monkeypatch):
    """A failing group whose failed rules are row-local is decided by one details run of those rules over the
    kept typed table, split per batch (include/ingest/combined.py, whole_group): one screen in all for 12
    batches, no attribution, no confirming screen, no bisection; the failing batches get their lines and each
    batch, failing or not, exactly the per-rule results its own validation gives."""
    bad_null = _shifted(capital_rows(2), 30)
    bad_null[1]["total_capital"] = None  # not_null: a column-map expectation
    bad_type = _shifted(capital_rows(2), 70)
    bad_type[0]["cet1_capital"] = "12x"  # type_cet1_capital: an UnexpectedRowsExpectation
    batches = [(_shifted(capital_rows(2), 10 * i), PERIOD) for i in range(12)]
    batches[3], batches[7] = (bad_null, PERIOD), (bad_type, PERIOD)
    table, members = _group(landing, batches)
    ids = list(members)
    outcomes, screens = _validate_screens_counted(monkeypatch, loader_url, table, members)
    assert sorted(i for i, o in outcomes.items() if not o.passed) == [ids[3], ids[7]]
    assert lines(rule(outcomes[ids[3]], "capital_report_not_null")) == [2]
    assert lines(rule(outcomes[ids[7]], "type_cet1_capital")) == [1]
    assert all(all(r.success for r in outcomes[i].results) for i in ids if i not in (ids[3], ids[7]))
    assert screens == [(12, False)]

    for i in (3, 7, 0, 11):  # the failing ones and two that pass
        alone = quality.validate_landing(loader_url, landing(CAPITAL, batches[i][0]), CAPITAL, PERIOD)
        assert _seen(outcomes[ids[i]]) == _seen(alone)
        assert outcomes[ids[i]].passed == alone.passed


def test_a_failing_group_of_one_batch_is_not_validated_again(landing, loader_url, monkeypatch):
    """A group of one batch (a resubmission's) whose screen failed gets its lines from one details run of
    the failed expectations over the kept table, whatever failed (here a unique rule too: the table's
    duplicate flags are that batch's own), not from a second validation from scratch; the same results as
    the batch validated alone."""
    bad = _shifted(capital_rows(3), 40) + _shifted(capital_rows(1), 40)  # a key twice: capital_key_unique
    bad[1]["total_capital"] = None  # and not_null
    table, members = _group(landing, [(bad, PERIOD)])
    (only,) = members

    def no_single(self, batch_id):
        raise AssertionError("validated again from scratch")

    monkeypatch.setattr(quality._GroupValidation, "single", no_single)
    outcomes = quality.validate_group(loader_url, table, CAPITAL, members)
    monkeypatch.undo()
    alone = quality.validate_landing(loader_url, landing(CAPITAL, bad), CAPITAL, PERIOD)

    assert not outcomes[only].passed
    assert not rule(outcomes[only], "capital_key_unique").success
    assert lines(rule(outcomes[only], "capital_report_not_null")) == [2]
    assert _seen(outcomes[only]) == _seen(alone)


def test_a_failing_unique_rule_is_split_per_batch_not_across_files(landing, loader_url, monkeypatch):
    """A unique rule the group screen failed: the kept table's duplicate flags (the group's: a key may
    repeat across two files) are set again per batch, and the one details run splits them: the batch with
    its own duplicate fails, the two files sharing a key across each other pass, as each does alone."""
    bad_dup = _shifted(capital_rows(2), 500) * 2  # the key twice in one file: capital_key_unique, an SQL rule
    batches = [(_shifted(capital_rows(2), 10 * i), PERIOD) for i in range(6)]
    batches[4] = (bad_dup, PERIOD)
    batches[5] = (_shifted(capital_rows(2), 0), PERIOD)  # batch 0's keys again, in another file
    table, members = _group(landing, batches)
    ids = list(members)
    outcomes, screens = _validate_screens_counted(monkeypatch, loader_url, table, members)
    assert sorted(i for i, o in outcomes.items() if not o.passed) == [ids[4]]
    assert not rule(outcomes[ids[4]], "capital_key_unique").success
    assert screens == [(6, False)]
    for i in (4, 5, 0):
        alone = quality.validate_landing(loader_url, landing(CAPITAL, batches[i][0]), CAPITAL, PERIOD)
        assert _seen(outcomes[ids[i]]) == _seen(alone)


def test_a_failing_batch_of_a_group_gets_the_results_it_gets_alone(landing, loader_url):
    """The failing batches of a group are validated with only the expectations the group screen failed
    (the others held in every batch of the group): each gets exactly the per-rule results, counts,
    element counts and offending lines that the full validation of the same rows alone gives."""
    bad_null = _shifted(capital_rows(3), 30)
    bad_null[1]["total_capital"] = None
    bad_null[2]["total_capital"] = None
    bad_dup = _shifted(capital_rows(2), 50) * 2  # the key twice: capital_key_unique, an SQL rule
    bad_dup[3]["cet1_capital"] = "-5"
    batches = [(_shifted(capital_rows(2), 10 * i), PERIOD) for i in range(8)]
    batches[2], batches[5] = (bad_null, PERIOD), (bad_dup, PERIOD)
    table, members = _group(landing, batches)
    ids = list(members)
    outcomes = quality.validate_group(loader_url, table, CAPITAL, members)
    assert sorted(i for i, o in outcomes.items() if not o.passed) == [ids[2], ids[5]]
    for i, rows in ((2, bad_null), (5, bad_dup)):
        alone = quality.validate_landing(loader_url, landing(CAPITAL, rows), CAPITAL, PERIOD)
        def seen(out):
            return [(r.rule_name, r.success, r.element_count, r.unexpected_count, r.examples) for r in out.results]

        assert _seen(outcomes[ids[i]]) == _seen(alone)
    assert lines(rule(outcomes[ids[2]], "capital_report_not_null")) == [2, 3]
    assert not rule(outcomes[ids[5]], "capital_key_unique").success


def test_with_rows_copies_every_field_and_fills_only_a_missing_element_count():
    import dataclasses

    from include.ingest.results import RuleResult, with_rows

    unknown = RuleResult("r1", "expect_x", "critical", False, None, 3, [{"line": 2, "column": "c", "value": "v"}],
                         "en", "zh", "boom")
    known = dataclasses.replace(unknown, rule_name="r2", element_count=9, error=None)
    out = with_rows([unknown, known], 7)
    assert out == [dataclasses.replace(unknown, element_count=7), known]
    assert out[0].examples is not unknown.examples and out[1] is not known  # copies: batches never share lists


def test_freshness_is_checked_on_a_checkpoints_first_run_only(landing, loader_url, monkeypatch):
    """The runtime runs a checkpoint without GX's per-run freshness check (every run serialised and compared
    the checkpoint, its validation definition and its suite with their stored copies): the first run of
    each checkpoint object checks, later runs of it do not; a rebuilt checkpoint (a changed definition)
    is checked again, and one out of step with its stores fails as GX's own run would."""
    import dataclasses

    import great_expectations as gx

    checks: list[str] = []
    original = gx.Checkpoint.is_fresh

    def counting(self):
        checks.append(self.name)
        return original(self)

    monkeypatch.setattr(gx.Checkpoint, "is_fresh", counting)
    renamed = dataclasses.replace(CAPITAL, name="capital_report_fresh")
    table = landing(CAPITAL, capital_rows(2))
    for _ in range(3):
        assert quality.validate_landing(loader_url, table, renamed, PERIOD).passed
    assert checks == ["capital_report_fresh_screen"]
    runtime = gx_runtime._RUNTIME
    first = runtime.slots[(loader_url, renamed.name)].screen
    # a changed definition under the same name: new objects, checked on their first run
    lenient = dataclasses.replace(renamed, rules=tuple(r for r in renamed.rules if r.kind != "not_null"))
    assert quality.validate_landing(loader_url, table, lenient, PERIOD).passed
    second = runtime.slots[(loader_url, renamed.name)].screen
    assert second is not first and runtime.checked[second.name] is second
    assert checks == ["capital_report_fresh_screen"] * 2
    # out of step with its stores (its suite removed behind the runtime's back): the first run refuses
    runtime.checked.pop(second.name)
    runtime.context.suites.delete(renamed.name)
    try:
        with pytest.raises(Exception, match="(?i)suite"):
            quality.validate_landing(loader_url, table, lenient, PERIOD)
    finally:
        runtime.context.suites.add(expectations.build_suite(lenient))


def test_details_results_are_written_only_for_data_docs(landing, loader_url, warehouse, tmp_path):
    """The details run quotes submitted values: without Data Docs its results never reach the results store
    (only the screen's do); with Data Docs they are stored, as its pages are built from them."""
    rows = capital_rows(2)
    rows[0]["total_rwa"] = None
    table = landing(CAPITAL, rows)
    stored = warehouse.state.gx_results / "validations"
    outcome = quality.validate_landing(loader_url, table, CAPITAL, PERIOD)
    assert not outcome.passed and [r.unexpected_count for r in outcome.critical_failures] == [1]
    assert [p for p in stored.rglob("*.json") if table in str(p)]  # the screen's result
    assert not [p for p in stored.rglob("*.json") if table in str(p) and "__failed" in str(p)]
    quality.validate_landing(loader_url, table, CAPITAL, PERIOD, docs_dir=tmp_path / "docs")
    assert [p for p in stored.rglob("*.json") if table in str(p) and "__failed" in str(p)]


def test_gx_kwargs_from_one_configuration_equal_gx_own_methods():
    """The gate's GX runtime replaces four kwargs lookups of GX's Expectation by the same lookups on one
    configuration build per call (include/ingest/gx_runtime.py): on every expectation of every dataset's suite,
    and with a runtime configuration or without, they return what GX's own methods return."""
    gx = expectations._gx()
    assert gx_runtime._kwargs_from_one_configuration(gx), "not installed: is GX still the release it was written for?"
    own = gx_runtime.GX_OWN_KWARGS_METHODS
    assert set(own) == {"_get_domain_kwargs", "_get_success_kwargs", "_get_success_kwarg", "_get_runtime_kwargs"}
    runtime = {"result_format": {"result_format": "COMPLETE", "unexpected_index_column_names": ["_batch_id"]}}
    seen = 0
    for ds in DATASETS.values():
        for e in expectations.build_suite(ds).expectations:
            seen += 1
            assert e._get_domain_kwargs() == own["_get_domain_kwargs"](e)
            assert e._get_success_kwargs() == own["_get_success_kwargs"](e)
            assert list(e._get_success_kwargs()) == list(own["_get_success_kwargs"](e))  # same order
            for conf in (None, runtime):
                assert e._get_runtime_kwargs(conf) == own["_get_runtime_kwargs"](e, conf)
            for key in (*e.domain_keys, *e.success_keys, *e.runtime_keys):
                assert e._get_success_kwarg(key, "d") == own["_get_success_kwarg"](e, key, "d")
    assert seen > 100
