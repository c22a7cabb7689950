"""The quarterly tables incremental by quarter: a resubmitted earlier quarter and an edited seed.

int_prudential__indicators, stress_test_results and institution_quarter_features recompute the periods from
the earliest period of a batch newer than their stored watermark, and every period when the seeds they read
differ from the digest stored with their rows. On the built tiny/11 world (``built_copy``):

* institution X resubmits the capital report of an earlier quarter (version 2, its capital halved): the
  incremental build must carry the new figures into that quarter's rows (and the later quarters' features that
  lag them) and hold exactly what a ``--full-refresh`` build holds (EXCEPT ALL both ways, the build watermark
  columns aside), the quarters before it left untouched (physical row positions unchanged);
* the seed regulatory_thresholds is edited in the database (the total CAR minimum raised to 50%): the next
  incremental build must recompute every quarter's breaches, as a full refresh does.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.test_accounts_latest_incremental import _has, _read, _resubmit, _submissions

MODELS = {"int_prudential__indicators": "intermediate.int_prudential__indicators",
          "stress_test_results": "marts_prudential.stress_test_results",
          "institution_quarter_features": "marts_features.institution_quarter_features",
          "int_entities__reported_periods": "intermediate.int_entities__reported_periods"}
SELECT = ["int_entities__reported_periods", "int_prudential__indicators", "capital_adequacy", "stress_test_results",
          "institution_quarter_features"]


def _connect():
    from include.warehouse.connection import libpq_url

    return psycopg.connect(libpq_url(os.environ["SUPERVISION_DATABASE_URL"]), autocommit=True)


def _incremental_then_full(schema: str) -> dict[str, tuple[int, int, int]]:
    """Build SELECT incrementally, keep the models' rows in `schema`, rebuild with --full-refresh:
    model -> (rows, only incremental, only full)."""
    from include.cli.warehouse import _dbt

    proc = _dbt(["run", "--select", *SELECT], check=False)
    assert proc.returncode == 0, proc.stdout[-6000:]
    with _connect() as conn:
        conn.execute(f"create schema {schema}")
        for m, r in MODELS.items():
            conn.execute(f"create table {schema}.{m} as select * from {r}")
    proc = _dbt(["run", "--full-refresh", "--select", *SELECT], check=False)
    assert proc.returncode == 0, proc.stdout[-6000:]
    out = {}
    with _connect() as conn:
        for m, r in MODELS.items():
            s, n = r.split(".")
            cols = ", ".join(f'"{c[0]}"' for c in conn.execute(
                "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
                "and column_name not like 'built\\_%%'", (s, n)))
            out[m] = (conn.execute(f"select count(*) from {r}").fetchone()[0], *(conn.execute(
                f"select count(*) from (select {cols} from {a} except all select {cols} from {b}) d").fetchone()[0]
                for a, b in ((f"{schema}.{m}", r), (r, f"{schema}.{m}"))))
    return out


@pytest.fixture(scope="module")
def revised(built_copy):
    from include.cli.warehouse import _dbt
    from include.ingest.loader import ingest_manifests
    from include.warehouse.connection import role_url

    state = built_copy.state
    with _connect() as conn:
        loaded = {r[0] for r in conn.execute("select submission_id from ops.submission")}
        last_quarter = conn.execute("select max(period) from intermediate.int_prudential__indicators").fetchone()[0]
    # an institution's earlier quarter (not the last two: later quarters' features lag it) with a capital report
    chosen = None
    for code in sorted(p.name for p in state.landing.iterdir() if p.is_dir()):
        quarters = [m for m in _submissions(state.landing, code, loaded)
                    if _has(m, "capital_report") and m.parent.parent.name < str(last_quarter)]
        if len(quarters) >= 2:
            chosen = (code, quarters[-2])
            break
    assert chosen is not None, "no institution with two capital reports before the last quarter"
    code, source = chosen
    period = source.parent.parent.name
    header, rows = _read(source, "capital_report")
    halved = [[str(round(float(v) / 2, 2)) if h in ("cet1_capital", "tier1_capital", "total_capital") and v else v
               for h, v in zip(header, r, strict=True)] for r in rows]
    v2 = _resubmit(source, Path(tempfile.mkdtemp(prefix="sv-quarter-")), "capital_report", header, halved)

    def figures(conn):
        return conn.execute(
            "select i.total_car, (select sum(s.post_total_car) from marts_prudential.stress_test_results as s"
            "  where s.institution_code = i.institution_code and s.period = i.period),"
            " (select f.total_car from marts_features.institution_quarter_features as f"
            "  where f.institution_code = i.institution_code and f.period = i.period)"
            " from intermediate.int_prudential__indicators as i where i.institution_code = %s and i.period = %s",
            (code, period)).fetchone()

    def earlier(conn):
        return [conn.execute(f"select count(*), md5(coalesce(string_agg(ctid::text, ',' order by ctid), '')) "
                             f"from {r} where period < %s", (period,)).fetchone() for r in MODELS.values()
                if "reported_periods" not in r]

    out: dict = {"code": code, "period": period}
    try:
        # the tables as the build DAG finds them after its first incremental build (watermarks stored)
        proc = _dbt(["run", "--select", *SELECT], check=False)
        assert proc.returncode == 0, proc.stdout[-6000:]
        with _connect() as conn:
            out["before"], out["earlier_before"] = figures(conn), earlier(conn)
        outcomes = ingest_manifests(role_url("loader", state), [v2], state)
        out["statuses"] = [o.status for o in outcomes]
        proc = _dbt(["run", "--select", *SELECT], check=False)
        assert proc.returncode == 0, proc.stdout[-6000:]
        with _connect() as conn:
            out["after"], out["earlier_after"] = figures(conn), earlier(conn)
        out["revision"] = _incremental_then_full("quarter_revision")
        # the seed edited in the database (dbt seed is not part of a build): every quarter's breaches change
        with _connect() as conn:
            out["breaches_before"] = conn.execute(
                "select sum(breach_count) from intermediate.int_prudential__indicators").fetchone()[0]
            conn.execute("update reference.regulatory_thresholds set threshold_value = 0.5 "
                         "where indicator_code = 'total_car' and size_tier is null")
        out["seed"] = _incremental_then_full("quarter_seed")
        with _connect() as conn:
            out["breaches_after"] = conn.execute(
                "select sum(breach_count) from intermediate.int_prudential__indicators").fetchone()[0]
        yield out
    finally:
        shutil.rmtree(v2.parents[3], ignore_errors=True)


def test_the_resubmission_is_accepted(revised):
    assert revised["statuses"] == ["accepted"]


def test_the_resubmitted_quarter_carries_the_new_capital(revised):
    (car, stressed, feature), (car2, stressed2, feature2) = revised["before"], revised["after"]
    assert car is not None and stressed is not None and feature == car
    assert float(car2) == pytest.approx(float(car) / 2, rel=1e-3)
    assert float(stressed2) < float(stressed)
    assert feature2 == car2


def test_the_incremental_build_equals_a_full_refresh_and_leaves_earlier_quarters_alone(revised):
    assert all(rows > 0 and a == 0 and b == 0 for rows, a, b in revised["revision"].values()), revised["revision"]
    assert all(n > 0 for n, _ in revised["earlier_before"])
    assert revised["earlier_after"] == revised["earlier_before"]


def test_an_edited_seed_recomputes_every_quarter(revised):
    assert revised["breaches_after"] > revised["breaches_before"]
    assert all(rows > 0 and a == 0 and b == 0 for rows, a, b in revised["seed"].values()), revised["seed"]
