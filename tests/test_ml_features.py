"""The institution feature mart is point-in-time: built on history truncated at a quarter, it gives
the same features for every period up to that quarter as built on the whole history.

The data are the prudential reports and regulator records of a tiny simulated universe, inserted
into raw as accepted batches under institution codes of their own (prefixed ``PIT``) and removed
afterwards. The labels, which look ahead by design, serve as the control: truncation must change them.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

DATASETS = ("institution", "capital_report", "asset_quality", "liquidity", "concentration", "profitability",
            "deposits_loans", "solvency", "supervisory_rating", "intervention", "regulator_case")
PREFIX = "PIT"


def _insert(conn, world) -> list[int]:
    """The world's rows as accepted batches, one per dataset and period as the loader makes them (a batch's rows
    are of its submission's period: the incremental quarterly models recompute from a new batch's period)."""
    from include.registry import ddl
    from include.registry.datasets import DATASETS as REGISTRY

    batch_ids = []
    for name in DATASETS:
        ds = REGISTRY[name]
        frame = world.frames[name].copy()
        if "institution_code" in frame:
            frame["institution_code"] = frame["institution_code"].map(
                lambda c: None if pd.isna(c) or c is None else PREFIX + c)
        periods = frame[ds.period_column].map(lambda p: str(pd.Timestamp(p).date()))
        conn.execute("set role loader")
        for period in sorted(set(periods)):
            conn.execute(ddl.raw_partition_ddl(ds, period))
        conn.execute("reset role")
        for period in sorted(set(periods)):
            sub = f"{PREFIX}-{period}"  # one submission per period, a batch per dataset
            conn.execute("insert into ops.submission (submission_id, institution_code, period, version, manifest, "
                         "manifest_sha256, landing_path) values (%s, %s, %s, 1, '{}', %s, %s) "
                         "on conflict (submission_id) do nothing",
                         (sub, f"{PREFIX}0000", period, sub, f"/nowhere/{sub}"))
            bid = conn.execute("insert into ops.batch (submission_id, dataset, file_name, file_sha256, status) "
                               "values (%s, %s, %s, %s, 'accepted') returning batch_id",
                               (sub, name, f"{name}.csv", f"{PREFIX}{name}{period}")).fetchone()[0]
            batch_ids.append(bid)
            cols = ds.column_names
            copy_sql = "copy raw.{} ({}, _batch_id, _file_sha256, _line) from stdin".format(
                ddl.q(name), ", ".join(ddl.q(c) for c in cols))
            with conn.cursor().copy(copy_sql) as cp:
                for line, row in enumerate(frame.loc[periods == period, cols].itertuples(index=False, name=None),
                                           start=1):
                    cp.write_row([None if (v is None or (not isinstance(v, str) and pd.isna(v))) else
                                  (v.date() if isinstance(v, pd.Timestamp) else v) for v in row]
                                 + [bid, f"{PREFIX}{name}{period}", line])
    return batch_ids


def _features(conn, table: str) -> pd.DataFrame:
    cur = conn.execute(f"select * from marts_features.{table} where institution_code like %s "
                       "order by institution_code, period", (PREFIX + "%",))
    frame = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])
    # the build watermark columns (built_*: which build wrote a row) differ between a build and a cut build
    return frame.drop(columns=[c for c in frame.columns if c.startswith("built_")])


@pytest.fixture(scope="module")
def builds(warehouse):
    from include.cli.story import without_model
    from include.cli.warehouse import _dbt
    from include.config import paths
    from simulator import build_world

    world = build_world("tiny", seed=23)
    cut = pd.Timestamp(world.periods[len(world.periods) // 2]).date()  # the middle quarter end
    with warehouse.connect(autocommit=True) as conn:
        with conn.transaction():
            batch_ids = _insert(conn, world)
        try:
            _dbt(["seed", "--quiet"])
            _dbt(["run", "--quiet", "--select", "+institution_quarter_training"])
            full = (_features(conn, "institution_quarter_features"), _features(conn, "institution_quarter_labels"),
                    _features(conn, "institution_quarter_training"))
            instead = without_model(conn)  # over the whole marts: compared with them read at the same moment
            cur = conn.execute("select f.period, f.car_below_minimum, f.total_car, t.label_high_risk_4q "
                               "from marts_features.institution_quarter_features f join "
                               "marts_features.institution_quarter_training t using (institution_code, period)")
            whole = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])
            _dbt(["run", "--quiet", "--select", "institution_quarter_features", "institution_quarter_labels",
                  "--vars", json.dumps({"features_as_of": str(cut)})],
                 target=paths().dbt_target.with_name("dbt_target_as_of"))  # keeps the shared partial parse valid
            cut_build = (_features(conn, "institution_quarter_features"),
                         _features(conn, "institution_quarter_labels"))
            with warehouse.connect(role="scorer") as scorer:
                scorer_rows = scorer.execute("select count(*) from marts_features.institution_quarter_training"
                                             ).fetchone()[0]
        finally:
            with conn.transaction():
                for name in DATASETS:
                    conn.execute(f'delete from raw."{name}" where _batch_id = any(%s)', (batch_ids,))
                conn.execute("delete from ops.batch where batch_id = any(%s)", (batch_ids,))
                conn.execute("delete from ops.submission where submission_id like %s", (PREFIX + "-%",))
                for table in ("institution_quarter_features", "institution_quarter_labels",
                              "institution_quarter_training"):
                    conn.execute(f"delete from marts_features.{table} where institution_code like %s", (PREFIX + "%",))
                # incremental: no later build recomputes the quarters of batches deleted from the ledger
                conn.execute("delete from intermediate.int_prudential__indicators where institution_code like %s",
                             (PREFIX + "%",))
    return {"cut": cut, "full": full, "cut_build": cut_build, "scorer_rows": scorer_rows, "world": world,
            "instead": (instead, whole)}


def _upto(frame: pd.DataFrame, cut) -> pd.DataFrame:
    return frame[frame["period"] <= cut].reset_index(drop=True)


def test_features_up_to_the_cut_do_not_change_when_later_data_is_removed(builds):
    full, trunc = builds["full"][0], builds["cut_build"][0]
    assert len(full) > len(_upto(full, builds["cut"])) > 0  # there was later data to remove
    assert trunc["period"].max() <= builds["cut"]
    pd.testing.assert_frame_equal(_upto(full, builds["cut"]), trunc, check_dtype=False)


def test_the_features_are_not_trivially_empty(builds):
    full = builds["full"][0]
    for col in ("total_car", "npl_ratio", "total_car_chg_1q", "npl_ratio_chg_2q", "breach_count_4q", "prior_rating"):
        assert full[col].notna().mean() > 0.3, col  # tiny: 4 quarters, so a 2-quarter change exists for half
    assert full["interventions_4q"].sum() > 0 or full["penalty_cases_4q"].sum() > 0


def test_labels_do_look_ahead_so_the_comparison_can_fail(builds):
    full, trunc = builds["full"][1], builds["cut_build"][1]
    a, b = _upto(full, builds["cut"]), _upto(trunc, builds["cut"])
    changed = (a["label_high_risk_4q"].astype(float).fillna(-1) != b["label_high_risk_4q"].astype(float).fillna(-1))
    assert changed.any()
    assert b.loc[b["period"] == builds["cut"], "label_high_risk_4q"].isna().all()  # nothing rated after the cut


def test_labels_come_from_the_regulators_records(builds):
    """Recomputed here from the regulator's frames: rated 5/6/S or taken over within four quarters."""
    world = builds["world"]
    rat = world.frames["supervisory_rating"]
    iv = world.frames["intervention"]
    events = pd.concat([
        pd.DataFrame({"inst": rat.loc[rat["rating"].isin(["5", "6", "S"]), "institution_code"],
                      "q": pd.to_datetime(rat.loc[rat["rating"].isin(["5", "6", "S"]), "report_period"])}),
        pd.DataFrame({"inst": iv.loc[iv["measure_type"] == "接管", "institution_code"],
                      "q": pd.to_datetime(iv.loc[iv["measure_type"] == "接管", "measure_date"])
                      + pd.offsets.QuarterEnd(0)}),
    ])
    labels = builds["full"][1]
    known = labels[labels["quarters_observed"] > 0]
    assert len(known) and (labels["quarters_observed"] == 0).any()  # the last quarter has no future yet
    expected = []
    for r in known.itertuples():
        t = pd.Timestamp(r.period)
        e = events[(events["inst"] == r.institution_code.removeprefix(PREFIX)) & (events["q"] > t)
                   & (events["q"] <= t + pd.offsets.QuarterEnd(4))]
        expected.append(int(len(e) > 0))
    assert known["label_high_risk_4q"].astype(int).tolist() == expected
    assert sum(expected) > 0


def test_the_scorer_role_reads_the_training_panel(builds):
    assert builds["scorer_rows"] > 0


def test_the_training_panel_keeps_only_complete_four_quarter_labels(builds):
    """A right-censored label (1 to 3 of the 4 quarters rated so far) says "no event yet": the labels mart keeps
    it for supervisors, the panel the models fit, calibrate and are judged on does not (bench/README, 7 Dec)."""
    labels, train = builds["full"][1], builds["full"][2]
    m = labels.merge(train[["institution_code", "period", "label_high_risk_4q"]], on=["institution_code", "period"],
                     how="outer", suffixes=("", "_train"), validate="one_to_one", indicator=True)
    assert (m["_merge"] == "both").all()
    censored = m[m["quarters_observed"].between(1, 3)]
    assert censored["label_high_risk_4q"].notna().any()  # the labels mart has censored labels (tiny: 4 quarters)
    assert m.loc[m["quarters_observed"] < 4, "label_high_risk_4q_train"].isna().all()
    complete = m[m["quarters_observed"] == 4]
    assert (complete["label_high_risk_4q"].astype(int) == complete["label_high_risk_4q_train"].astype(int)).all()


def test_without_a_model_the_story_counts_complete_labels_and_capital_breaches(builds):
    d, whole = builds["instead"]
    tiny = builds["full"][2]
    assert tiny["label_high_risk_4q"].isna().all()  # tiny has 4 quarters: no quarter has 4 later ones
    assert d["labelled_quarters"] == whole.loc[whole["label_high_risk_4q"].notna(), "period"].nunique()
    assert d["labelled_events"] == int(whole["label_high_risk_4q"].fillna(0).sum())
    latest = whole[whole["period"] == whole["period"].max()]
    assert d["period"] == str(latest["period"].iat[0])
    assert d["below_capital_minimum"] == int(latest["car_below_minimum"].sum()) > 0
    below = sorted(round(float(x), 4) for x in latest.loc[latest["car_below_minimum"] == 1, "total_car"])
    assert [r["total_car"] for r in d["lowest_car"]] == below[:3]  # the lowest capital ratios first
