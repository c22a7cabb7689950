"""`simulate advance` (issue #3 item 10) and the external feeds written beside the landing zone (item 7)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from include.registry.datasets import DATASETS
from simulator import advance, build_world, generate, get_preset
from simulator.advance import landing_months
from simulator.defects import read_defects
from simulator.external import FEEDS
from simulator.landing import iter_submissions, read_manifest, tree_hashes, verify_submission
from simulator.prudential import capital_ratios


@pytest.fixture(scope="module")
def advanced(tmp_path_factory):
    root = tmp_path_factory.mktemp("advance")
    summary = generate(root / "landing", root / "gt", preset="tiny", seed=7)
    before = tree_hashes(root / "landing")
    ext_before = json.loads((root / "external" / "manifest.json").read_text(encoding="utf-8"))
    step = advance(root / "landing", root / "gt", preset="tiny", seed=7)
    return root, summary, before, ext_before, step


def test_advance_adds_exactly_one_month(advanced):
    root, summary, _, _, step = advanced
    months = landing_months(root / "landing")
    assert [m.isoformat() for m in months] == [*summary["periods"], "2026-01-31"]
    assert step["period"] == "2026-01-31" and not step["quarter_end"]
    new = [s for s in iter_submissions(root / "landing") if s.parent.name == "2026-01-31"]
    assert len(new) == step["submissions"] > 0
    assert all(verify_submission(s) == [] for s in new)
    assert "capital_report" not in step["rows"] and step["rows"]["transaction"] > 0


def test_existing_files_are_byte_identical(advanced):
    root, _, before, _, _ = advanced
    after = tree_hashes(root / "landing")
    assert {k: v for k, v in after.items() if k in before} == before
    assert all("/2026-01-31/" in k for k in set(after) - set(before))


def test_external_feeds_are_written_beside_the_landing_zone_and_advanced(advanced):
    root, summary, _, ext_before, step = advanced
    ext = root / "external"
    assert {f"{f}.jsonl" for f in FEEDS} <= {p.name for p in ext.iterdir()}
    assert not list((root / "landing").rglob("*.jsonl"))
    assert set(summary["external_records"]) == set(FEEDS) and summary["external_records"]["registry"] > 0
    assert ext_before["published_through"] == summary["periods"][-1]
    after = json.loads((ext / "manifest.json").read_text(encoding="utf-8"))
    assert after["published_through"] == step["period"]
    assert sum(step["external_records"].values()) >= sum(summary["external_records"].values())
    assert (root / "gt" / "external_news_labels.csv").is_file()


def test_advance_is_deterministic(advanced, tmp_path):
    root, *_ = advanced
    generate(tmp_path / "landing", tmp_path / "gt", preset="tiny", seed=7, external=False)
    advance(tmp_path / "landing", tmp_path / "gt", preset="tiny", seed=7, external=False)
    mine = {k: v for k, v in tree_hashes(tmp_path / "landing").items() if "/2026-01-31/" in k}
    theirs = {k: v for k, v in tree_hashes(root / "landing").items() if "/2026-01-31/" in k}
    assert mine == theirs and mine


def test_advance_into_a_quarter_end_brings_the_quarterly_reports(tmp_path):
    p = dataclasses.replace(get_preset("tiny"), name="tiny-nov", last_period=date(2025, 11, 30))
    generate(tmp_path / "landing", tmp_path / "gt", preset=p, seed=2, external=False)
    step = advance(tmp_path / "landing", tmp_path / "gt", preset=p, seed=2, defects="all", external=False)
    assert step["period"] == "2025-12-31" and step["quarter_end"]
    assert step["rows"]["capital_report"] > 0 and step["rows"].get("supervisory_rating", 0) >= 0
    d = read_defects(tmp_path / "gt")
    assert len(d) and set(d["period"]) == {"2025-12-31"}  # defects only in the new month
    manifests = [read_manifest(s) for s in iter_submissions(tmp_path / "landing") if "2025-12-31" in str(s)
                 and (s / "manifest.json").read_bytes().rstrip().endswith(b"}")]
    assert any(any(f["dataset"] == "capital_report" for f in m["files"]) for m in manifests)


def test_advance_needs_a_landing_zone(tmp_path):
    with pytest.raises(ValueError, match="generate first"):
        advance(tmp_path / "landing", tmp_path / "gt", preset="tiny", seed=7)


# ----- continuity: a world with extra months continues the base world exactly -------------------------

BASE_END = date(2025, 12, 31)


def _frames_through(world, last: date, first: date | None = None) -> dict[str, pd.DataFrame]:
    """Every dataset's rows (transactions included) with a period in [first, last]."""
    out = {}
    for name, ds in DATASETS.items():
        f = world.frames.get(name)
        if f is None:
            f = pd.concat([world.transactions(m) for m in range(len(world.months))], ignore_index=True)
        d = f[ds.period_column].to_numpy().astype("datetime64[D]")
        keep = d <= np.datetime64(last, "D")
        if first is not None:
            keep &= d >= np.datetime64(first, "D")
        out[name] = f[keep].reset_index(drop=True)
    return out


@pytest.fixture(scope="module")
def worlds():
    p = get_preset("tiny")
    return {k: build_world(dataclasses.replace(p, extra_months=k), 7) for k in (0, 1, 4)}


@pytest.mark.parametrize("k", [1, 4])
def test_extended_world_equals_the_base_world_on_the_base_window(worlds, k):
    base = _frames_through(worlds[0], BASE_END)
    ext = _frames_through(worlds[k], BASE_END)
    assert set(base) == set(DATASETS)
    assert all(len(base[n]) for n in ("loan", "guarantee", "transaction", "capital_report", "supervisory_rating"))
    for name in DATASETS:
        pd.testing.assert_frame_equal(ext[name], base[name], obj=name)
    assert worlds[k].submitted_at.items() >= worlds[0].submitted_at.items()  # base timestamps kept


def test_extra_months_agree_whatever_the_world_length(worlds):
    first = date(2026, 1, 31)
    one = _frames_through(worlds[1], first, first)
    four = _frames_through(worlds[4], first, first)
    assert len(one["loan"]) and len(one["transaction"])
    for name in DATASETS:
        pd.testing.assert_frame_equal(four[name], one[name], obj=name)
    assert worlds[4].submitted_at[("REG0000", first)] == worlds[1].submitted_at[("REG0000", first)]


def _loans_at(world, d: date) -> pd.DataFrame:
    f = world.frames["loan"]
    return f[f["report_period"].to_numpy().astype("datetime64[D]") == np.datetime64(d, "D")].set_index("loan_id")


def test_loans_run_on_after_the_base_window(worlds):
    w = worlds[4]
    dec, jan = _loans_at(w, BASE_END), _loans_at(w, date(2026, 1, 31))
    live = dec[(dec["maturity_date"].to_numpy().astype("datetime64[D]") > np.datetime64("2026-01-31"))
               | (dec["overdue_days"] > 0)]
    assert len(live) > 100
    assert set(live.index) <= set(jan.index)  # same ids, nothing live disappears
    assert (jan.loc[live.index, "balance"] <= live["balance"]).all()
    assert (jan.loc[live.index, "balance"] < live["balance"]).any()  # amortising ones pay down
    same = ["customer_id", "contract_amount", "interest_rate", "start_date", "maturity_date", "purpose"]
    pd.testing.assert_frame_equal(jan.loc[live.index, same], live[same])
    bad = live[live["overdue_days"] > 0]
    assert len(bad)
    assert (jan.loc[bad.index, "overdue_days"] - bad["overdue_days"] == 31).all()  # January has 31 days


def test_loans_maturing_after_the_base_window_are_renewed_with_the_next_ids(worlds):
    w = worlds[4]
    dec, jan = _loans_at(w, BASE_END), _loans_at(w, date(2026, 1, 31))
    new = jan.loc[jan.index.difference(dec.index)]
    assert len(new) and new.index.min() > worlds[0].banking.loans["loan_id"].max()
    matured = dec[(dec["maturity_date"].to_numpy().astype("datetime64[D]") <= np.datetime64("2026-01-31"))
                  & (dec["overdue_days"] == 0)]
    # a renewal: same lender and customer as a loan maturing that month, starting on its maturity date
    key = ["institution_code", "customer_id", "start_date"]
    old = matured.assign(start_date=matured["maturity_date"])[key]
    assert len(new[key].merge(old, on=key)) == len(new)
    assert (new["five_category"] == "正常").all() and (new["purpose"] != "个人住房按揭").all()
    assert len(new) < len(matured)  # not every loan is renewed
    g = w.frames["guarantee"]
    assert set(g["loan_id"]) & set(new.index)  # guarantees follow renewed loans


def test_loans_default_after_the_base_window_and_overdue_days_drive_the_category(worlds):
    w = worlds[4]
    base_dm = worlds[0].banking.loans["default_month"].to_numpy()
    dm = w.banking.loans["default_month"].to_numpy()[: len(base_dm)]
    assert (dm >= 12).sum() > 0  # some performing loans default in the extra months
    assert ((dm == base_dm) | ((base_dm == -99) & (dm >= 12))).all()
    lf = w.frames["loan"]
    late = lf[lf["report_period"].to_numpy().astype("datetime64[D]") > np.datetime64(BASE_END, "D")]
    od = late["overdue_days"].to_numpy()
    cat = late["five_category"].to_numpy()
    assert (cat[od > 360] == "损失").all() and (cat[(od > 180) & (od <= 360)] == "可疑").all()
    assert set(cat[od > 0]) - {"关注", "次级", "可疑", "损失"} == set()


def test_guarantees_accounts_and_customers_continue(worlds):
    w = worlds[4]
    g = w.frames["guarantee"]
    jan = g[g["report_period"].to_numpy().astype("datetime64[D]") == np.datetime64("2026-01-31")]
    loans_jan = _loans_at(w, date(2026, 1, 31))
    assert len(jan) and set(jan["loan_id"]) <= set(loans_jan.index)
    customers = set(w.frames["customer_corporate"]["customer_id"]) | set(w.frames["customer_individual"]["customer_id"])
    assert set(loans_jan["customer_id"]) <= customers
    accounts = set(worlds[0].frames["account"]["account_no"])
    txn = pd.concat([w.transactions(m) for m in range(12, 16)], ignore_index=True)
    assert len(txn) and set(txn["account_no"]) <= accounts
    assert set(w.frames["account"]["account_no"]) == accounts


def test_health_and_reports_continue_each_institution(worlds):
    w = worlds[4]  # through April 2026: the quarter 2026-03-31 is reported
    assert w.periods[-1] == date(2026, 3, 31) and w.health_ahead.periods[-1] == date(2026, 6, 30)
    z = w.health_ahead.z
    assert np.abs(z[:, 4] - z[:, 3]).max() < 1.0  # a continuation, not a fresh draw
    det = w.health.deteriorating
    assert det.any() and (z[det, 4:] < -2.0).all()  # deteriorating ones stay weak
    cr = capital_ratios(w.frames["capital_report"])
    codes = [c for c, d in zip(w.health.codes, det, strict=True) if d]
    new_q = cr[(cr["report_period"].to_numpy().astype("datetime64[D]") == np.datetime64("2026-03-31"))]
    assert len(new_q) == len(cr) // len(w.periods)
    assert new_q[new_q["institution_code"].isin(codes)]["breach_total"].all()
    assert not new_q[~new_q["institution_code"].isin(codes)]["breach_total"].any()
    rat = w.frames["supervisory_rating"]
    assert (rat["report_period"].to_numpy().astype("datetime64[D]") == np.datetime64("2026-03-31")).sum() == len(
        w.universe.institutions)


def test_schemes_keep_their_plan(worlds):
    base, w = worlds[0].schemes, worlds[4].schemes
    assert (base["start_month"].to_numpy() == w["start_month"].to_numpy()).all()
    done = base["collapse_month"].to_numpy() >= 0
    assert (w["collapse_month"].to_numpy()[done] == base["collapse_month"].to_numpy()[done]).all()
    later = w["collapse_month"].to_numpy()[~done]
    assert ((later == -1) | (later >= 12)).all()


def test_advance_twice_writes_two_new_months_and_keeps_the_earlier_ones(tmp_path):
    generate(tmp_path / "landing", tmp_path / "gt", preset="tiny", seed=7, external=False)
    before = tree_hashes(tmp_path / "landing")
    one = advance(tmp_path / "landing", tmp_path / "gt", preset="tiny", seed=7, external=False)
    after_one = tree_hashes(tmp_path / "landing")
    two = advance(tmp_path / "landing", tmp_path / "gt", preset="tiny", seed=7, external=False)
    after_two = tree_hashes(tmp_path / "landing")
    assert (one["period"], two["period"]) == ("2026-01-31", "2026-02-28")
    assert {k: v for k, v in after_two.items() if k in after_one} == after_one
    assert {k: v for k, v in after_one.items() if k in before} == before
    assert all("/2026-02-28/" in k for k in set(after_two) - set(after_one)) and set(after_two) - set(after_one)
    assert landing_months(tmp_path / "landing")[-2:] == [date(2026, 1, 31), date(2026, 2, 28)]
