"""``supervision import transactions`` (issue #12 item 4): a hand-written CSV of transfers becomes
submissions that pass the quality gate, and a planted fan-in collector with periodic payouts, hidden
among ordinary transfers, reaches ``marts_flows.flow_alerts`` with its evidence.

The CSV is written here, not by the simulator: 400 ordinary people paying one another (rent, living
costs, gifts; odd amounts, neutral purposes), two shops with many small payers, a payroll account, and
one collector that takes round "investment" money from 30 mostly elderly people over three months,
passes most of it to two accounts at another bank and pays each investor an equal monthly "interest".
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path

import psycopg
import pytest

from include.flows import importer
from include.flows.identifiers import is_valid_resident_id, is_valid_uscc, placeholder_resident_id, placeholder_uscc
from tests.conftest import throwaway_database

BANK, OTHER = "IMPB1", "IMPB2"
COLLECTOR = "COLLECT-0001"
MONTHS = [date(2026, m, 1) for m in range(1, 7)]
HEADER = ["sender_account", "receiver_account", "amount", "timestamp", "purpose", "channel",
          "sender_institution_code", "receiver_institution_code", "sender_name", "sender_birth_date",
          "receiver_type"]


def _ts(rng: random.Random, month: date) -> str:
    t = datetime(month.year, month.month, rng.randint(1, 28), rng.randint(8, 21), rng.randint(0, 59))
    return t.strftime("%Y-%m-%d %H:%M:%S")


def transfers(seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    people = [f"P{i:04d}" for i in range(400)]
    births = {p: f"{rng.randint(1955, 2002)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" for p in people}
    rows: list[dict] = []

    def add(s, r, amount, month, purpose="转账", *, s_inst=BANK, r_inst=BANK, r_type="", channel="手机银行"):
        rows.append({"sender_account": s, "receiver_account": r, "amount": f"{amount:.2f}",
                     "timestamp": _ts(rng, month), "purpose": purpose, "channel": channel,
                     "sender_institution_code": s_inst, "receiver_institution_code": r_inst,
                     "sender_name": f"客户{s}", "sender_birth_date": births.get(s, ""), "receiver_type": r_type})

    for month in MONTHS:
        for _ in range(120):  # ordinary person-to-person transfers
            s, r = rng.sample(people, 2)
            add(s, r, rng.uniform(20, 3000), month, rng.choice(["转账", "生活费", "房租", "还款", "红包"]))
        for shop in ("SHOP-A", "SHOP-B"):  # shops: many small payers, one supplier
            for p in rng.sample(people, 12):
                add(p, shop, rng.uniform(5, 300), month, "消费", r_type="corporate", channel="POS")
            add(shop, "SUPPLIER-1", rng.uniform(2000, 5000), month, "货款", r_inst=OTHER, r_type="corporate")
        for p in rng.sample(people, 15):  # payroll
            add("PAYROLL-1", p, rng.uniform(4000, 9000), month, "工资", channel="批量代发")
    # the scheme: 30 investors, 24 of them elderly, round sums in months 1-3 ...
    investors = [f"INV{i:03d}" for i in range(30)]
    for i, inv in enumerate(investors):
        births[inv] = f"{1940 + i % 15}-05-0{1 + i % 9}" if i < 24 else "1985-03-03"
    for k, month in enumerate(MONTHS[:3]):
        for inv in investors[k * 10:(k + 1) * 10]:
            add(inv, COLLECTOR, 10000 * rng.randint(2, 10), month, rng.choice(["投资款", "认购款", "转账"]))
        # ... most of it moved on to two accounts at another bank ...
        for dest in ("SINK-1", "SINK-2"):
            add(COLLECTOR, dest, 10000 * rng.randint(15, 25), month, "转账", r_inst=OTHER)
    # ... and an equal "interest" to each investor every month after it paid in
    for k, month in enumerate(MONTHS):
        for inv in investors[:min(k + 1, 3) * 10]:
            add(COLLECTOR, inv, 1500.00, month, "返息")
    return rows


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=HEADER)
        w.writeheader()
        w.writerows(rows)


def test_placeholders_are_valid_and_stable():
    rid = placeholder_resident_id("IMPB1:A1", date(1950, 2, 28))
    assert is_valid_resident_id(rid) and rid[6:14] == "19500228" and rid.startswith("000000")
    assert rid == placeholder_resident_id("IMPB1:A1", date(1950, 2, 28))
    assert is_valid_uscc(placeholder_uscc("IMPB1:X")) and not is_valid_uscc("91000000NBB6X4YG7A")


def test_bad_rows_are_one_line_each_and_nothing_is_written(tmp_path, capsys):
    src = tmp_path / "bad.csv"
    src.write_text(
        "sender_account,receiver_account,amount,timestamp,sender_id_no,receiver_type\n"
        "A,B,100,2026-01-05 10:00,,\n"
        "A,B,-5,2026-01-05 10:00,,\n"
        "A,B,5,yesterday,,\n"
        "C,B,5,2026-01-05,110101199001011235,\n"
        "A,B,5,2026-01-05,,merchant\n", encoding="utf-8")
    landing = tmp_path / "landing"
    assert importer.main(["transactions", str(src), "--institution", BANK, "--landing", str(landing)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"{src}:3: amount: must be positive and at most 1e13 after rounding to cents, got '-5'",
        f"{src}:4: timestamp: not a timestamp: 'yesterday' (use ISO 8601, e.g. 2026-03-31T14:05:00+08:00)",
        f"{src}:5: sender_id_no: '110101199001011235' is not a resident ID with a valid birth date and check digit",
        f"{src}:6: receiver_type: 'merchant' is not 个人/individual or 对公/corporate",
    ]
    assert not landing.exists()
    src.write_text("sender_account,receiver_account,amount\nA,B,1\n", encoding="utf-8")
    assert importer.main(["transactions", str(src), "--landing", str(landing)]) == 2
    assert capsys.readouterr().err.strip() == f"{src}:1: header: missing required column(s) timestamp"


def test_reimport_is_a_new_version_with_the_same_identifiers(tmp_path):
    src = tmp_path / "t.csv"
    write_csv(src, transfers()[:300])
    first = importer.import_transactions(src, tmp_path / "landing")
    # an institution's month already in the landing zone is not superseded by accident
    with pytest.raises(importer.BadInput, match=r"IMPB1 2026-01 already has IMPB1-20260131-v1 .* --replace"):
        importer.import_transactions(src, tmp_path / "landing")
    second = importer.import_transactions(src, tmp_path / "landing", replace=True)
    assert [p.parent.name.rsplit("-v", 1)[1] for p in first] == ["1"] * len(first)
    assert [p.parent.name.rsplit("-v", 1)[1] for p in second] == ["2"] * len(second)
    for a, b in zip(first, second, strict=True):
        data = sorted(f.name for f in a.parent.glob("*.csv"))
        assert data == sorted(f.name for f in b.parent.glob("*.csv")) and "transaction.csv" in data
        assert all((a.parent / f).read_bytes() == (b.parent / f).read_bytes() for f in data)
        assert oct((a.parent / "transaction.csv").stat().st_mode & 0o777) == "0o600"
    assert not list((tmp_path / "landing").rglob(".*"))


@pytest.fixture(scope="module")
def imported(warehouse):
    """The CSV imported, ingested by the loader into a database of its own and the flow models built."""
    from include.cli.warehouse import _dbt
    from include.ingest.loader import ingest_manifests
    from include.privacy.pseudonymise import load_key
    from include.warehouse.bootstrap import bootstrap
    from include.warehouse.connection import libpq_url, role_url

    root = Path(tempfile.mkdtemp(prefix="sv-import-"))
    rows = transfers()
    write_csv(root / "statement.csv", rows)
    mp = pytest.MonkeyPatch()
    try:
        with throwaway_database(warehouse.admin_url, mp, prefix="imp"):
            bootstrap(warehouse.state)
            load_key(warehouse.state)  # an established warehouse has its key: the account map then gives tokens
            assert importer.main(["transactions", str(root / "statement.csv"), "--landing", str(root / "landing"),
                                  "--account-map", str(root / "map.csv")]) == 0
            manifests = sorted((root / "landing").glob("*/*/*/manifest.json"))
            # institutions that deliver no institution record of their own are admitted by the regulator
            # first (issue #14): `supervision institutions admit CODE`, as the README says for imports
            from include.ingest.admission import admit

            with psycopg.connect(libpq_url(role_url("loader", warehouse.state)), autocommit=True) as conn:
                admit(conn, sorted({m.parts[-4] for m in manifests}), "an investigator's transfer export")
                # the regulator names the bureau supervising the collector's bank (the other stays HQ-only)
                admit(conn, [BANK], bureau="ZJ")
            outcomes = ingest_manifests(role_url("loader", warehouse.state), manifests, warehouse.state)
            proc = _dbt(["build"], check=False)  # the whole project: every test, on this data alone
            assert proc.returncode == 0, proc.stdout[-6000:]
            yield {"rows": rows, "state": warehouse.state, "root": root, "manifests": manifests, "outcomes": outcomes,
                   "connect": lambda: psycopg.connect(libpq_url(os.environ["SUPERVISION_DATABASE_URL"]))}
    finally:
        mp.undo()
        shutil.rmtree(root, ignore_errors=True)


def test_import_passes_the_quality_gate(imported):
    assert len(imported["rows"]) >= 1000
    # two institutions x six months
    assert len(imported["manifests"]) == 12
    with imported["connect"]() as conn:
        statuses = dict(conn.execute("select status, count(*) from ops.batch group by status").fetchall())
        n_txn = conn.execute("select count(*) from raw.transaction").fetchone()[0]
    assert set(statuses) <= {"accepted", "accepted_with_warning"}, statuses
    assert n_txn == 2 * len(imported["rows"])  # one row per side


def test_collector_reaches_flow_alerts_with_evidence(imported):
    from include.privacy.pseudonymise import load_key, token

    with (imported["root"] / "map.csv").open(encoding="utf-8") as f:
        accounts = {r["account_in_file"]: r for r in csv.DictReader(f)}
    # the warehouse holds account numbers as tokens; the account map gives the token to look for
    collector = accounts[COLLECTOR]
    assert collector["token"] == token(collector["account_no"], "account", load_key(imported["state"]))
    with imported["connect"]() as conn:
        alerts = conn.execute(
            "select period, queue_rank, top_typology, flow_score, payers, elderly_share, evidence, "
            "example_inflow_txn_ids from marts_flows.flow_alerts where account_no = %s order by period",
            [collector["token"]]).fetchall()
        others = conn.execute("select count(distinct account_no) from marts_flows.flow_alerts").fetchone()[0]
    assert alerts, "the collector never reached flow_alerts"
    months = {a[0] for a in alerts}
    assert months & {date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)}
    best = min(alerts, key=lambda a: a[1])
    period, rank, typology, score, payers, elderly_share, evidence, examples = best
    assert rank == 1 and payers >= 10 and float(elderly_share) > 0.5
    evidence = evidence if isinstance(evidence, dict) else json.loads(evidence)
    assert evidence["top_typology"] == typology
    assert evidence["payers"]["value"] >= 10 and evidence["payers"]["peer_percentile"] > 0.9
    assert examples
    assert others < 5 * len(MONTHS)  # a queue, not everyone


def test_admitted_bureau_gets_the_imported_institutions_alerts(imported, capsys):
    """`institutions admit CODE --bureau ZJ`: the imported bank's alerts go to ZJ's queue, the institution
    admitted without a bureau stays HQ-only (null bureau), and an unknown bureau is refused in one line."""
    from include.ingest.admission import main as admission_main

    with imported["connect"]() as conn:
        bureaus = dict(conn.execute(
            "select institution_code, bureau_code from intermediate.int_entities__institutions "
            "where institution_code = any(%s)", [[BANK, OTHER]]).fetchall())
        alert_bureaus = {r[0] for r in conn.execute("select distinct bureau_code from marts_flows.flow_alerts")}
    assert bureaus == {BANK: "ZJ", OTHER: None}
    assert "ZJ" in alert_bureaus
    assert admission_main(["admit", BANK, "--bureau", "XX"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'XX' is not a bureau" in err[0]
