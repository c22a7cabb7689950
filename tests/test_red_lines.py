"""The developers' three red lines (#16 item 3) on the tiny/11 world: the developer_financials feed lands
through the extractor, the marts compute the ratios themselves (they agree with the simulator's hidden
balance sheets), every colour is there, a red developer's lenders carry the exposure into the institution
portrait and the warnings, and a bureau sees a developer only when it or one of its lenders is its own."""

from __future__ import annotations

import pytest

from include.registry.feeds import FEEDS

pytestmark = pytest.mark.slow

FEED = FEEDS["developer_financials"]


@pytest.fixture(scope="module")
def world():
    from simulator import build_world

    return build_world("tiny", seed=11)  # the world built_warehouse ingested


@pytest.fixture(scope="module")
def red_lines_built(built_warehouse, world):
    """The feed fetched from the simulator's server for the same world, then the red-line models and
    everything downstream rebuilt."""
    from include.cli.warehouse import _dbt
    from include.external.tasks import fetch
    from simulator.external import FeedServer, from_world
    from simulator.external.clock import parse_ts

    with built_warehouse.connect(autocommit=True) as c:  # a clean slate for this feed only
        c.execute(f"truncate {FEED.table}, {FEED.history_table}")
        c.execute("delete from quarantine.ext_record where feed = %s", (FEED.name,))
        c.execute("delete from ops.ext_watermark where feed = %s", (FEED.name,))
    with FeedServer(from_world(world)) as srv:
        served = {key for _, key, _ in srv.feeds.snapshot(FEED.name, parse_ts(srv.server_time))}
        result = fetch(built_warehouse.role_url("loader"), FEED.name, srv.url, page_size=10)
    proc = _dbt(["build", "--select", "stg_external__developer_financials+"], check=False)
    assert proc.returncode == 0, proc.stdout[-6000:]
    return {"served": served, "fetched": result}


def threshold() -> float:
    """The warning's threshold, the dbt var red_line_exposure_max_share."""
    import yaml

    from include.config import DBT_PROJECT_DIR

    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return float(project["vars"]["red_line_exposure_max_share"])


def rows(warehouse, sql: str, *args) -> list[dict]:
    with warehouse.connect() as c:
        cur = c.execute(sql, args)
        cols = [d.name for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def test_the_feed_lands_every_published_disclosure(built_warehouse, red_lines_built):
    fetched = red_lines_built["fetched"]
    assert fetched["quarantined"] == 0 and fetched["pages"] > 1
    stored = {r["disclosure_id"] for r in rows(built_warehouse, f"select disclosure_id from {FEED.table}")}
    assert stored == red_lines_built["served"] and len(stored) > 0


def test_the_ratios_are_computed_and_agree_with_the_hidden_balance_sheets(built_warehouse, red_lines_built, world):
    mart = rows(built_warehouse, "select developer_uscc, report_period, lines_breached, breach_liability_ratio, "
                                 "breach_net_gearing, breach_cash_ratio, colour "
                                 "from marts_networks.developer_red_lines")
    truth = {(r.uscc, r.report_period.date()): r for r in world.developers.itertuples(index=False)}
    assert len(mart) == len(red_lines_built["served"])
    for m in mart:
        t = truth[(m["developer_uscc"], m["report_period"])]
        assert (m["breach_liability_ratio"], m["breach_net_gearing"], m["breach_cash_ratio"]) == (
            t.breach_liability, t.breach_gearing, t.breach_cash), m
        assert m["lines_breached"] == t.red_lines_breached
        assert m["colour"] == ("green", "yellow", "orange", "red")[m["lines_breached"]]
    assert {m["colour"] for m in mart} == {"green", "yellow", "orange", "red"}


def test_loans_are_judged_by_what_was_published_by_their_month_end(built_warehouse, red_lines_built):
    """No look-ahead by publication date: a loan's colour is the one of the latest quarter published by the
    month end (China time), in the version current then; nothing published later is used."""
    end_of_month = "((l.period + 1)::timestamp at time zone 'Asia/Shanghai')"
    used = rows(built_warehouse, f"""
        select l.institution_code, l.period, l.developer_uscc, l.colour, v.colour as version_colour,
               v.published_at < {end_of_month} as was_public
        from intermediate.int_networks__developer_lending as l
        join intermediate.int_networks__developer_red_lines as v
          on v.developer_uscc = l.developer_uscc and v.report_period = l.disclosure_period
         and v.version = l.disclosure_version""")
    assert used and all(u["was_public"] and u["colour"] == u["version_colour"] for u in used)
    # nothing newer was public at that month end: no later quarter, no later version of the same quarter
    missed = rows(built_warehouse, f"""
        select l.institution_code, l.period, l.developer_uscc
        from intermediate.int_networks__developer_lending as l
        where exists (select 1 from intermediate.int_networks__developer_red_lines as e
                      where e.developer_uscc = l.developer_uscc and e.published_at < {end_of_month}
                        and e.report_period <= l.period
                        and (l.disclosure_period is null or e.report_period > l.disclosure_period
                             or (e.report_period = l.disclosure_period and e.version > l.disclosure_version)))""")
    assert missed == []
    # and the quarter end alone is not enough: some month ends fall between a quarter's end and its publication
    # (the simulated disclosures are published weeks after the quarter), where the previous quarter is used
    waiting = rows(built_warehouse, """
        select count(*) as n from intermediate.int_networks__developer_lending as l
        where exists (select 1 from intermediate.int_networks__developer_red_lines as e
                      where e.developer_uscc = l.developer_uscc and e.report_period <= l.period
                        and (l.disclosure_period is null or e.report_period > l.disclosure_period))""")
    assert waiting[0]["n"] > 0


def test_a_red_developer_its_lenders_their_portrait_and_warning(built_warehouse, red_lines_built):
    # a loan judged red (by the disclosure public at its month end), latest month first
    red = rows(built_warehouse, "select institution_code, period, developer_uscc "
                                "from intermediate.int_networks__developer_lending where colour = 'red' "
                                "order by period desc, institution_code, developer_uscc")
    assert red, "no loan to a developer judged red"
    lender, period, developer = red[0]["institution_code"], red[0]["period"], red[0]["developer_uscc"]
    exposure = rows(built_warehouse, "select loan_balance, share_of_corporate_loans, developer_usccs "
                                     "from marts_networks.bank_red_line_exposure "
                                     "where institution_code = %s and period = %s and colour = 'red'",
                    lender, period)
    assert len(exposure) == 1 and developer in exposure[0]["developer_usccs"]
    assert exposure[0]["loan_balance"] > 0 and 0 < exposure[0]["share_of_corporate_loans"] <= 1
    portrait = rows(built_warehouse, "select red_line_colour, red_lines_breached, total_loan_balance "
                                     "from marts_portraits.firm_portrait where firm_uscc = %s", developer)
    assert portrait[0]["red_line_colour"] is not None and portrait[0]["red_lines_breached"] is not None
    # the lender's portrait at its latest loan month: exposure to red and orange developers, as in the mart
    inst = rows(built_warehouse, "select red_line_exposure_period, red_developer_loans, orange_developer_loans, "
                                 "red_orange_share_of_corporate_loans from marts_portraits.institution_portrait "
                                 "where institution_code = %s", lender)[0]
    latest = rows(built_warehouse, "select colour, loan_balance from marts_networks.bank_red_line_exposure "
                                   "where institution_code = %s and period = %s", lender,
                  inst["red_line_exposure_period"])
    by_colour = {r["colour"]: r["loan_balance"] for r in latest}
    assert inst["red_developer_loans"] == by_colour.get("red", 0)
    assert inst["orange_developer_loans"] == by_colour.get("orange", 0)
    # the warning fires exactly at the quarter ends where an institution's red exposure is above the threshold
    expected = rows(built_warehouse, "select institution_code, period from marts_networks.bank_red_line_exposure "
                                     "where colour = 'red' and share_of_corporate_loans > %s "
                                     "and extract(month from period)::int %% 3 = 0", threshold())
    warned = rows(built_warehouse, "select entity_id, period, description_zh, description_en, rule_name_zh from "
                                   "marts_warnings.warnings where rule_code = 'red_line_developer_exposure'")
    assert {(w["entity_id"], w["period"]) for w in warned} == {(e["institution_code"], e["period"]) for e in expected}
    assert warned, "no institution above the red-exposure threshold at a quarter end"
    assert "红档房企" in warned[0]["description_zh"] and "red developers" in warned[0]["description_en"]
    assert warned[0]["rule_name_zh"]  # the catalogue names the rule


def test_a_bureau_sees_a_developer_when_it_or_a_lender_is_its_own(built_warehouse, red_lines_built):
    from tests.test_rls import _login

    with built_warehouse.connect() as admin:
        bureau = admin.execute("select b from marts_networks.developer_red_lines, unnest(bureau_codes) as b "
                               "where b <> 'HQ' group by b order by count(*) desc, b limit 1").fetchone()[0]
        expected = admin.execute("select count(*) from marts_networks.developer_red_lines "
                                 "where %s = any(bureau_codes)", (bureau,)).fetchone()[0]
        exposure = admin.execute("select count(*) from marts_networks.bank_red_line_exposure where bureau_code = %s",
                                 (bureau,)).fetchone()[0]
    with _login(built_warehouse, f"sup_{bureau.lower()}") as conn:
        seen = conn.execute("select bureau_codes from marts_networks.developer_red_lines").fetchall()
        seen_exposure = conn.execute("select distinct bureau_code "
                                     "from marts_networks.bank_red_line_exposure").fetchall()
        n_exposure = conn.execute("select count(*) from marts_networks.bank_red_line_exposure").fetchone()[0]
    assert len(seen) == expected > 0 and all(bureau in codes for (codes,) in seen)
    assert set(seen_exposure) <= {(bureau,)} and n_exposure == exposure
