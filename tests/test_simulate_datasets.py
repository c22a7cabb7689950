"""The simulated datasets honour the registry: columns in order, every rule, valid check
characters, personal identifiers flagged."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from include.registry.datasets import DATASETS, Dataset
from simulator import build_world, generate, ids
from simulator.landing import iter_submissions, read_data_file, read_manifest

IMPLEMENTED_KINDS = {"not_null", "unique", "between", "in_set", "regex", "uscc", "resident_id", "lei",
                     "period_match", "column_pair_le", "references", "reconciles"}


@pytest.fixture(scope="module")
def world():
    return build_world("tiny", seed=7)


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("simds")
    generate(root / "landing", root / "ground_truth", preset="tiny", seed=7)
    return root / "landing"


def _num(s: str) -> Decimal:
    return Decimal(s)


def _le(a: str, b: str, pg_type: str) -> bool:
    if pg_type == "date" or pg_type.startswith("timestamp"):
        return a <= b  # ISO text orders like the dates
    return _num(a) <= _num(b)


def rule_violations(ds: Dataset, header: list[str], rows: list[list[str]], period: str) -> dict[str, int]:
    """Count, per rule, the rows of one file (text as written) that break it, with the semantics of the
    quality gate: empty = NULL, NULLs pass every rule except not_null."""
    df = pd.DataFrame(rows, columns=header, dtype=object)
    out: dict[str, int] = {}
    for r in ds.rules:
        cols = list(r.columns)
        bad = 0
        if r.kind == "not_null":
            bad = int((df[cols] == "").any(axis=1).sum())
        elif r.kind == "unique":
            bad = int(df.duplicated(cols, keep=False).sum())
        else:
            for c in cols:
                v = df[c][df[c] != ""]
                if r.kind == "between":
                    bad += sum(not (r.params["min"] <= float(x) <= r.params["max"]) for x in v)
                elif r.kind == "in_set":
                    bad += int((~v.isin(r.params["values"])).sum())
                elif r.kind == "regex":
                    pat = re.compile(r.params["pattern"])
                    bad += sum(not pat.search(x) for x in v)
                elif r.kind == "uscc":
                    bad += sum(not ids.is_valid_uscc(x) for x in v)
                elif r.kind == "resident_id":
                    bad += sum(not ids.is_valid_resident_id(x) for x in v)
                elif r.kind == "lei":
                    bad += sum(not ids.is_valid_lei(x) for x in v)
                elif r.kind == "period_match":
                    bad += int((v != period).sum())
                elif r.kind == "column_pair_le":
                    break
            if r.kind == "column_pair_le":
                a, b = cols
                both = df[(df[a] != "") & (df[b] != "")]
                t = ds.column(a).pg_type
                bad = sum(not _le(x, y, t) for x, y in zip(both[a], both[b], strict=True))
        out[r.name] = bad
    return out


def test_registry_uses_only_implemented_rule_kinds():
    for ds in DATASETS.values():
        for r in ds.rules:
            assert r.kind in IMPLEMENTED_KINDS, (ds.name, r.name, r.kind)


def test_every_dataset_is_simulated(world):
    assert set(world.frames) == set(DATASETS)
    assert all(len(f) for f in world.frames.values())


@pytest.mark.parametrize("name", list(DATASETS))
def test_frame_columns_equal_registry_in_order(world, name):
    assert list(world.frames[name].columns) == DATASETS[name].column_names


def test_every_written_row_satisfies_every_rule(landing):
    """Clean data breaks no rule, not even a warning: warnings are defects, injected on purpose."""
    seen: set[str] = set()
    failures = {}
    for sub in iter_submissions(landing):
        m = read_manifest(sub)
        for f in m["files"]:
            ds = DATASETS[f["dataset"]]
            header, rows = read_data_file(sub / f["file"], encoding=f["encoding"], compression=f["compression"])
            assert header == ds.column_names
            seen.add(ds.name)
            for rule, bad in rule_violations(ds, header, rows, m["period"]).items():
                if bad:
                    failures[(sub.name, ds.name, rule)] = bad
    assert seen == set(DATASETS)
    assert failures == {}


def test_rule_checker_catches_a_bad_row():
    ds = DATASETS["loan"]
    row = dict.fromkeys(ds.column_names, "")
    row.update(institution_code="B0001", report_period="2025-01-31", loan_id="L1", customer_id="C1",
               customer_type="对公", borrower_uscc="91100000100003962T", purpose="流动资金", collateral_type="信用",
               contract_amount="100.00", balance="200.00", five_category="正常", overdue_days="0",
               interest_rate="4.0000", start_date="2024-01-01", maturity_date="2026-01-01")
    v = rule_violations(ds, ds.column_names, [list(row.values())], "2025-01-31")
    assert v["loan_balance_within_contract"] == 1
    assert sum(v.values()) == 1


def test_personal_identifiers_are_flagged():
    for ds in DATASETS.values():
        for c in ds.columns:
            if c.name in ("resident_id", "phone") or c.name.endswith("resident_id"):
                assert c.pii, (ds.name, c.name)
            if c.name in ("account_no", "counterparty_account"):
                assert c.pii == "account", (ds.name, c.name)
    assert DATASETS["customer_individual"].column("name").pii == "name"


def test_check_characters_are_valid(world):
    assert world.firms["uscc"].map(lambda c: ids.is_valid_uscc(c, check_org_code=True)).all()
    assert world.persons["resident_id"].map(ids.is_valid_resident_id).all()
    assert world.firms["uscc"].is_unique and world.persons["resident_id"].is_unique
    for name, ds in DATASETS.items():
        f = world.frames[name]
        for r in ds.rules:
            if r.kind in ("uscc", "resident_id"):
                check = ids.is_valid_uscc if r.kind == "uscc" else ids.is_valid_resident_id
                vals = f[r.columns[0]].dropna()
                assert vals.map(check).all(), (name, r.columns)


def test_resident_ids_encode_birth_date_and_sex(world):
    p = world.persons
    assert (p["resident_id"].str[6:14] == pd.to_datetime(p["birth_date"]).dt.strftime("%Y%m%d")).all()
    assert ((p["resident_id"].str[16].astype(int) % 2 == 1) == (p["sex"] == "M")).all()


def test_world_exposes_the_entity_tables_other_modules_code_against(world):
    assert list(world.firms.columns) == ["uscc", "name", "short_name", "industry_code", "industry_name",
                                         "region_code", "registered_capital", "founded_date", "status",
                                         "legal_rep_resident_id", "is_developer"]
    assert list(world.persons.columns) == ["resident_id", "name", "birth_date", "sex", "region_code", "phone"]
    assert {"scheme_id", "firm_uscc", "start_month", "collapse_month", "n_investors"} <= set(world.schemes.columns)
    assert len(world.months) == 3 * len(world.periods) and world.months[-1] == world.periods[-1]
    assert world.health.z.shape == (len(world.universe.institutions), len(world.periods))


def test_firm_names_and_short_names(world):
    f = world.firms
    assert f["short_name"].is_unique and f["name"].is_unique
    assert f["name"].str.endswith("有限公司").all()
    assert [s in n for s, n in zip(f["short_name"], f["name"], strict=True)] == [True] * len(f)
    assert {"C", "F", "K", "L"} <= set(f["industry_code"])
    assert set(f["status"]) <= {"存续", "注销", "吊销"}
    assert f.loc[f["is_developer"], "industry_code"].eq("K").all()


def test_shareholders_sum_to_100_percent(world):
    s = world.shareholders.groupby("firm_uscc")["share_pct"].sum()
    assert len(s) == len(world.firms)
    assert ((s - 100).abs() < 1e-6).all()


def test_some_developers_breach_the_three_red_lines(world):
    d = world.developers
    last = d[d["report_period"] == d["report_period"].max()]
    assert len(last) > 0
    assert 0 < (last["red_lines_breached"] > 0).mean() < 1
