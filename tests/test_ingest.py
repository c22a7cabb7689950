"""Ingest guarantees, against the real warehouse: nothing lost, nothing twice, nothing partial."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
from pathlib import Path

import pytest

from include.ingest.loader import ingest_manifests
from include.registry.datasets import CAPITAL_REPORT

PERIOD = "2025-03-31"
_codes = itertools.count(1)


def capital_rows(code: str, total_capital: str = "1300.00") -> list[list[str]]:
    return [[code, PERIOD, "900.00", "1000.00", total_capital, "8000.00", "500.00", "1500.00", "10000.00"]]


def submit(landing: Path, code: str, rows: list[list[str]], version: int = 1, *, declared_rows: int | None = None,
           raw: bytes | None = None) -> Path:
    """Write a capital_report submission the way an institution delivers it; return its manifest."""
    sub_id = f"{code}-{PERIOD.replace('-', '')}-v{version}"
    folder = landing / code / PERIOD / sub_id
    folder.mkdir(parents=True)
    if raw is None:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(CAPITAL_REPORT.column_names)
        w.writerows(rows)
        raw = buf.getvalue().encode()
    (folder / "capital_report.csv").write_bytes(raw)
    manifest = {
        "manifest_version": 1, "institution_code": code, "period": PERIOD, "submission_id": sub_id,
        "version": version, "submitted_at": "2025-04-15T10:00:00+08:00",
        "files": [{"dataset": "capital_report", "file": "capital_report.csv", "encoding": "utf-8",
                   "delimiter": ",", "compression": None,
                   "rows": len(rows) if declared_rows is None else declared_rows,
                   "sha256": hashlib.sha256(raw).hexdigest()}],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder / "manifest.json"


def admitted(warehouse, *codes: str) -> None:
    """The regulator admits the institutions (they deliver capital reports without a master record)."""
    from include.ingest.admission import admit

    with warehouse.connect("loader", autocommit=True) as conn:
        admit(conn, list(codes), "tests")


@pytest.fixture
def code(warehouse) -> str:
    c = f"T{next(_codes):04d}"
    admitted(warehouse, c)
    return c


def _raw_count(warehouse, code: str) -> int:
    with warehouse.connect() as conn:
        return conn.execute("select count(*) from raw.capital_report where institution_code = %s",
                            (code,)).fetchone()[0]


def _statuses(warehouse, code: str) -> list[tuple[int, str]]:
    with warehouse.connect() as conn:
        return conn.execute("select s.version, b.status from ops.batch b join ops.submission s using (submission_id) "
                            "where s.institution_code = %s order by s.version, b.batch_id", (code,)).fetchall()


def test_clean_submission_is_accepted_with_lineage(warehouse, tmp_path, code):
    m = submit(tmp_path, code, capital_rows(code))
    (out,) = ingest_manifests(warehouse.role_url("loader"), [m], warehouse.state)
    assert out.status == "accepted"
    with warehouse.connect() as conn:
        row = conn.execute("select total_capital, _line, _file_sha256 from raw.capital_report "
                           "where institution_code = %s", (code,)).fetchone()
    assert row[0] == 1300 and row[1] == 1 and row[2] == hashlib.sha256((m.parent / "capital_report.csv")
                                                                       .read_bytes()).hexdigest()
    archived = list(warehouse.state.archive.rglob(f"{row[2]}*"))
    assert len(archived) == 1 and archived[0].read_bytes() == (m.parent / "capital_report.csv").read_bytes()


def test_a_run_leaves_the_ledger_analyzed_for_the_build_that_follows(warehouse, tmp_path, code):
    """build_warehouse runs right after an ingest, and every staging view joins raw rows to ops.batch: the run
    analyzes the ledger itself, so the planner never reads statistics autovacuum took mid-run (755 s instead of
    ~100 s for a full build on `small`: loader._analyze_ledger)."""
    submit_ = submit(tmp_path, code, capital_rows(code))
    with warehouse.connect() as conn:  # statistics that do not match the ledger, as a mid-run analyze leaves them
        conn.execute("update pg_class set reltuples = 100000 "
                     "where oid in ('ops.batch'::regclass, 'ops.submission'::regclass)")
        conn.commit()
    (out,) = ingest_manifests(warehouse.role_url("loader"), [submit_], warehouse.state)
    assert out.status == "accepted"
    with warehouse.connect() as conn:
        for table in ("ops.batch", "ops.submission"):
            estimated, actual = conn.execute(
                f"select (select reltuples::bigint from pg_class where oid = '{table}'::regclass), count(*) "
                f"from {table}"
            ).fetchone()
            assert estimated == actual, table


def test_same_file_delivered_twice_loads_once(warehouse, tmp_path, code):
    rows = capital_rows(code)
    first = submit(tmp_path / "a", code, rows)
    ingest_manifests(warehouse.role_url("loader"), [first], warehouse.state)
    again = submit(tmp_path / "b", code, rows, version=2)  # same bytes, new submission
    (out,) = ingest_manifests(warehouse.role_url("loader"), [again], warehouse.state)
    assert out.status == "duplicate"
    assert _raw_count(warehouse, code) == 1


def test_rerunning_an_ingested_submission_changes_nothing(warehouse, tmp_path, code):
    m = submit(tmp_path, code, capital_rows(code))
    ingest_manifests(warehouse.role_url("loader"), [m], warehouse.state)
    assert ingest_manifests(warehouse.role_url("loader"), [m], warehouse.state) == []
    assert _raw_count(warehouse, code) == 1


def test_version_two_supersedes_version_one_which_stays_queryable(warehouse, tmp_path, code):
    v1 = submit(tmp_path, code, capital_rows(code, "1300.00"))
    ingest_manifests(warehouse.role_url("loader"), [v1], warehouse.state)
    v2 = submit(tmp_path, code, capital_rows(code, "1250.00"), version=2)
    ingest_manifests(warehouse.role_url("loader"), [v2], warehouse.state)
    assert _statuses(warehouse, code) == [(1, "superseded"), (2, "accepted")]
    with warehouse.connect() as conn:
        kept = conn.execute("select r.total_capital, b.status from raw.capital_report r join ops.batch b "
                            "on b.batch_id = r._batch_id where r.institution_code = %s order by 1",
                            (code,)).fetchall()
    assert [(float(a), s) for a, s in kept] == [(1250.0, "accepted"), (1300.0, "superseded")]


def test_malformed_file_is_rejected_with_its_line_and_the_rest_of_the_group_loads(warehouse, tmp_path, code):
    good_code = code + "G"
    admitted(warehouse, good_code)
    good = submit(tmp_path, good_code, capital_rows(good_code))
    header = ",".join(CAPITAL_REPORT.column_names)
    raw = f"{header}\n{','.join(capital_rows(code)[0])}\n{','.join(capital_rows(code)[0])},extra\n".encode()
    bad = submit(tmp_path, code, [], declared_rows=2, raw=raw)
    outs = {o.status: o for o in ingest_manifests(warehouse.role_url("loader"), [good, bad], warehouse.state)}
    assert set(outs) == {"accepted", "rejected"}
    assert "line 3" in outs["rejected"].reason and "capital_report.csv" in outs["rejected"].reason
    assert _raw_count(warehouse, code) == 0 and _raw_count(warehouse, good_code) == 1


def test_wrong_row_count_in_manifest_is_rejected(warehouse, tmp_path, code):
    m = submit(tmp_path, code, capital_rows(code), declared_rows=5)
    (out,) = ingest_manifests(warehouse.role_url("loader"), [m], warehouse.state)
    assert out.status == "rejected" and "manifest_row_count" in out.reason
    assert _raw_count(warehouse, code) == 0


def test_critical_failure_quarantines_the_batch_and_records_the_rule(warehouse, tmp_path, code):
    m = submit(tmp_path, code, capital_rows(code, "-5.00"))
    (out,) = ingest_manifests(warehouse.role_url("loader"), [m], warehouse.state)
    assert out.status == "quarantined" and "capital_non_negative" in out.reason
    with warehouse.connect() as conn:
        assert conn.execute("select count(*) from quarantine.capital_report where institution_code = %s",
                            (code,)).fetchone()[0] == 1
        failed = conn.execute("select d.rule_name from ops.dq_result d join ops.batch b using (batch_id) "
                              "join ops.submission s using (submission_id) where s.institution_code = %s "
                              "and not d.success", (code,)).fetchall()
    assert failed == [("capital_non_negative",)]
    assert _raw_count(warehouse, code) == 0


def test_a_batch_interrupted_after_loading_is_finished_by_the_rerun(warehouse, tmp_path, code):
    """Simulate a crash after COPY committed (batch 'loaded', landing table left behind)."""
    from include.ingest import loader

    m = submit(tmp_path, code, capital_rows(code))
    real = loader.gate_group

    def crash(*a, **kw):
        raise KeyboardInterrupt("killed")

    loader.gate_group = crash
    try:
        with pytest.raises(KeyboardInterrupt):
            ingest_manifests(warehouse.role_url("loader"), [m], warehouse.state)
    finally:
        loader.gate_group = real
    assert _statuses(warehouse, code) == [(1, "loaded")] and _raw_count(warehouse, code) == 0
    from include.ingest.loader import pending_manifests

    assert m in pending_manifests(warehouse.role_url("loader"), tmp_path)
    (out,) = ingest_manifests(warehouse.role_url("loader"), [m], warehouse.state)
    assert out.status == "accepted" and _raw_count(warehouse, code) == 1


def test_identical_files_verified_together_load_once(warehouse, tmp_path, code):
    """A resubmission's unchanged file, processed in the same run as the original, is a duplicate."""
    rows = capital_rows(code)
    v1 = submit(tmp_path / "a", code, rows)
    v2 = submit(tmp_path / "b", code, rows, version=2)
    outs = ingest_manifests(warehouse.role_url("loader"), [v1, v2], warehouse.state)
    assert sorted(o.status for o in outs) == ["accepted", "duplicate"]
    assert _raw_count(warehouse, code) == 1


def _dq(warehouse, code: str) -> dict[int, list[tuple]]:
    with warehouse.connect() as conn:
        rows = conn.execute("select s.version, r.rule_name, r.success, r.element_count, r.unexpected_count, r.examples "
                            "from ops.dq_result r join ops.batch b using (batch_id) join ops.submission s "
                            "using (submission_id) where s.institution_code = %s order by 1, 2", (code,)).fetchall()
    out: dict[int, list[tuple]] = {}
    for version, *rest in rows:
        out.setdefault(version, []).append(tuple(rest))
    return out


def _gx_groups(monkeypatch) -> list[list[int]]:
    """Record the members of every group the GX gate validates."""
    from include.ingest import quality

    seen: list[list[int]] = []
    real = quality.validate_group

    def counted(url, table, dataset, members, **kw):
        seen.append(sorted(members))
        return real(url, table, dataset, members, **kw)

    monkeypatch.setattr(quality, "validate_group", counted)
    return seen


@pytest.mark.parametrize("total_capital, statuses", [("1300.00", ["accepted", "duplicate"]),
                                                     ("-5.00", ["quarantined", "quarantined"])])
def test_unchanged_file_rides_with_its_original(warehouse, tmp_path, code, monkeypatch, total_capital, statuses):
    """A resubmission's unchanged file, in the same run as the original, is loaded with it but not validated
    again: it gets the original's results (what its own GX run gave: a fresh run on the same rows, the same
    period and the same state), and one GX group validates the original alone."""
    seen = _gx_groups(monkeypatch)
    rows = capital_rows(code, total_capital)
    v1 = submit(tmp_path / "a", code, rows)
    v2 = submit(tmp_path / "b", code, rows, version=2)
    ingest_manifests(warehouse.role_url("loader"), [v1, v2], warehouse.state)
    assert [s for _, s in _statuses(warehouse, code)] == statuses
    assert len(seen) == 1 and len(seen[0]) == 1
    dq = _dq(warehouse, code)
    assert dq[1] and dq[2] == dq[1]
    assert any(not ok for _, ok, *_ in dq[1]) == (total_capital == "-5.00")
    # the same file validated on its own (another institution, nothing riding) gives the same results
    other = f"T{next(_codes):04d}"
    admitted(warehouse, other)
    ingest_manifests(warehouse.role_url("loader"), [submit(tmp_path / "c", other, capital_rows(other, total_capital))],
                     warehouse.state)
    assert [r[:4] for r in _dq(warehouse, other)[1]] == [r[:4] for r in dq[2]]


def test_no_ride_past_a_changed_version(warehouse, tmp_path, code, monkeypatch):
    """v3 is the same file as v1 but not as v2, its version just before: v3 is validated (it is no duplicate of
    an accepted file: v2 superseded v1) and accepted, as when each version is ingested in its own run."""
    seen = _gx_groups(monkeypatch)
    same = capital_rows(code)
    manifests = [submit(tmp_path / "a", code, same), submit(tmp_path / "b", code, capital_rows(code, "1400.00"), 2),
                 submit(tmp_path / "c", code, same, 3)]
    ingest_manifests(warehouse.role_url("loader"), manifests, warehouse.state)
    assert _statuses(warehouse, code) == [(1, "superseded"), (2, "superseded"), (3, "accepted")]
    # v2 shares v1's group (loader._may_share); v3, the same file as v1, does not (promotion would take it for
    # a duplicate of v1 accepted in the group)
    assert [len(g) for g in seen] == [2, 1] and _raw_count(warehouse, code) == 3


def test_no_ride_when_a_later_version_is_accepted(warehouse, tmp_path, code, monkeypatch):
    """v3 was accepted first; v1 and v2 (the same file) arrive later in one run: v1 is superseded at once, so v2
    is no duplicate of an accepted file: it is validated and superseded too, as one run each would have it."""
    ingest_manifests(warehouse.role_url("loader"), [submit(tmp_path / "c", code, capital_rows(code, "1400.00"), 3)],
                     warehouse.state)
    seen = _gx_groups(monkeypatch)
    same = capital_rows(code)
    ingest_manifests(warehouse.role_url("loader"), [submit(tmp_path / "a", code, same),
                                                    submit(tmp_path / "b", code, same, 2)], warehouse.state)
    assert _statuses(warehouse, code) == [(1, "superseded"), (2, "superseded"), (3, "accepted")]
    assert len(seen) == 2 and _raw_count(warehouse, code) == 3  # the same file: never in one group (loader._groups)


def _dup_rows(code: str) -> list[list[str]]:
    return capital_rows(code, "1400.00") * 2  # the key (institution, period) twice: capital_key_unique fails


@pytest.mark.parametrize("v1_rows, v2_rows, statuses", [
    (capital_rows, lambda c: capital_rows(c, "1400.00"), ["superseded", "accepted"]),
    (lambda c: capital_rows(c, "-5.00"), lambda c: capital_rows(c, "1400.00"), ["quarantined", "accepted"]),
    (capital_rows, _dup_rows, ["accepted", "quarantined"]),
    (lambda c: capital_rows(c, "-5.00"), _dup_rows, ["quarantined", "quarantined"])])
def test_a_changed_version_shares_its_originals_group(warehouse, tmp_path, code, monkeypatch, v1_rows, v2_rows,
                                                      statuses):
    """A resubmission's changed file, in the same run as the original, shares the original's group (one GX
    screen, one promotion; it used to take a group of its own): the group screen's unique flags are each batch's
    own (their key is the same in both versions), so each version gets exactly what one run each gives it:
    statuses, per-rule results (counts, lines), rows in raw and quarantine."""
    seen = _gx_groups(monkeypatch)
    ingest_manifests(warehouse.role_url("loader"), [submit(tmp_path / "a", code, v1_rows(code)),
                                                    submit(tmp_path / "b", code, v2_rows(code), 2)], warehouse.state)
    assert [s for _, s in _statuses(warehouse, code)] == statuses
    assert [len(g) for g in seen] == [2]
    # the same two files, one run each (another institution)
    other = f"T{next(_codes):04d}"
    admitted(warehouse, other)
    for folder, rows, version in (("c", v1_rows, 1), ("d", v2_rows, 2)):
        ingest_manifests(warehouse.role_url("loader"), [submit(tmp_path / folder, other, rows(other), version)],
                         warehouse.state)
    assert [s for _, s in _statuses(warehouse, other)] == statuses
    mine, alone = _dq(warehouse, code), _dq(warehouse, other)
    assert set(mine) == {1, 2}
    for version in (1, 2):
        assert [r[:4] for r in mine[version]] == [r[:4] for r in alone[version]]
        assert json.dumps([r[4] for r in mine[version]]).replace(code, "X") == \
            json.dumps([r[4] for r in alone[version]]).replace(other, "X")
    with warehouse.connect() as conn:
        kept = {c: conn.execute("select (select count(*) from raw.capital_report where institution_code = %(c)s), "
                                "(select count(*) from quarantine.capital_report where institution_code = %(c)s)",
                                {"c": c}).fetchone() for c in (code, other)}
    assert kept[code] == kept[other]


def test_an_empty_resubmission_keeps_a_group_of_its_own(warehouse, tmp_path, code, monkeypatch):
    """A later version declaring no rows does not share its original's group (the empty-resubmission screen
    reads the original accepted): it is held for confirmation, as in a run of its own."""
    seen = _gx_groups(monkeypatch)
    ingest_manifests(warehouse.role_url("loader"), [submit(tmp_path / "a", code, capital_rows(code)),
                                                    submit(tmp_path / "b", code, [], 2)], warehouse.state)
    assert _statuses(warehouse, code) == [(1, "accepted"), (2, "quarantined")]
    assert [len(g) for g in seen] == [1]
    with warehouse.connect() as conn:
        reason = conn.execute("select b.detail->>'reason' from ops.batch b join ops.submission s using (submission_id) "
                              "where s.institution_code = %s and s.version = 2", (code,)).fetchone()[0]
    assert "empty_resubmission" in reason


def test_set_based_status_changes_and_supersession_match_one_by_one(warehouse, tmp_path, code):
    """Paths a normal run does not reach: one batch changing status twice in one ``_events`` call, and
    two versions of one (institution, period) superseded in one ``_supersede`` call (two rounds)."""
    import psycopg

    from include.ingest import ledger, promote
    from include.ingest.contract import parse_manifest
    from include.warehouse.connection import libpq_url

    v1 = parse_manifest(submit(tmp_path / "a", code, capital_rows(code)))
    v2 = parse_manifest(submit(tmp_path / "b", code, capital_rows(code, "1400.00"), version=2))
    with psycopg.connect(libpq_url(warehouse.role_url("loader")), autocommit=True) as conn:
        (b1,), (b2,) = ledger.register_submissions(conn, [v1, v2], warehouse.state, "run-1")
        with conn.transaction():
            ledger._events(conn, [(b1, "verified", None), (b2, "verified", {"x": 1}), (b1, "loaded", {"y": 2})],
                           "run-1")
        rows = ledger._batch_rows(conn, [b1, b2])
        with conn.transaction():
            statuses = promote._supersede(conn, [(rows[0], {"raw_rows": 1}), (rows[1], {"raw_rows": 1})], "run-1")
        events = conn.execute("select batch_id, status, dag_run_id from ops.batch_event where batch_id = any(%s) "
                              "order by event_id", ([b1, b2],)).fetchall()
        final = dict(conn.execute("select batch_id, status from ops.batch where batch_id = any(%s)",
                                  ([b1, b2],)).fetchall())
        detail = conn.execute("select detail from ops.batch where batch_id = %s", (b1,)).fetchone()[0]
    assert statuses == ["accepted", "accepted"]
    assert [(b, s) for b, s, _ in events] == [(b1, "received"), (b2, "received"), (b1, "verified"), (b2, "verified"),
                                              (b1, "loaded"), (b1, "accepted"), (b1, "superseded"), (b2, "accepted")]
    assert {r for _, _, r in events} == {"run-1"}
    assert final == {b1: "superseded", b2: "accepted"}
    assert detail["y"] == 2 and detail["superseded_by"] == b2


# --------------------------------------------------------------------------- faults: a real kill
TXN_PERIOD = "2025-03-31"


def submit_transactions(landing: Path, code: str, n: int) -> Path:
    """A transaction submission of ``n`` rows (about 100 bytes each)."""
    from include.registry.datasets import TRANSACTION

    sub_id = f"{code}-{TXN_PERIOD.replace('-', '')}-v1"
    folder = landing / code / TXN_PERIOD / sub_id
    folder.mkdir(parents=True)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(TRANSACTION.column_names)
    for i in range(n):
        w.writerow([code, TXN_PERIOD, f"{code}T{i:08d}", f"62220{i % 997:014d}", "2025-03-15T10:00:00+08:00",
                    "收" if i % 2 else "付", f"{100 + i % 50}.00", "柜面", f"62228{i % 991:014d}", "张三", "", "工资"])
    raw = buf.getvalue().encode()
    (folder / "transaction.csv").write_bytes(raw)
    manifest = {"manifest_version": 1, "institution_code": code, "period": TXN_PERIOD, "submission_id": sub_id,
                "version": 1, "submitted_at": "2025-04-15T10:00:00+08:00",
                "files": [{"dataset": "transaction", "file": "transaction.csv", "encoding": "utf-8", "delimiter": ",",
                           "compression": None, "rows": n, "sha256": hashlib.sha256(raw).hexdigest()}]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder / "manifest.json"


def _ingest_then_hang(url: str, manifests: list[str], home: str, where: str, ready: str) -> None:
    """Child process: ingest, but stop dead at ``where`` (mid-COPY or mid-promotion), tell the parent,
    and wait there to be killed."""
    import time

    from include.config import StatePaths
    from include.ingest import files, gx_runtime, loader, promote

    gx_runtime._RUNTIME = None  # never use the parent's (forked) GX connection pool

    def hang():
        Path(ready).write_text(where)
        time.sleep(600)

    if where == "copy":
        files.CHUNK = 4096
        real_stream = loader._byte_stream

        def stream(path, compression):
            for n, chunk in enumerate(real_stream(path, compression)):
                if n == 5:  # the header needs one chunk: this is inside COPY's data, transaction open
                    hang()
                yield chunk

        loader._byte_stream = stream
    else:
        def supersede(conn, b, dag_run_id):  # runs after INSERT INTO raw, before the commit
            hang()

        promote._supersede = supersede
    loader.ingest_manifests(url, [Path(m) for m in manifests], StatePaths(Path(home)))


@pytest.mark.parametrize("where", ["copy", "promote"])
def test_loader_killed_mid_load_then_rerun_loads_every_row_exactly_once(warehouse, tmp_path, where):
    import multiprocessing
    import os
    import signal
    import time

    codes = [f"K{where[0].upper()}{i:03d}" for i in range(3)]
    admitted(warehouse, *codes)
    manifests = [submit_transactions(tmp_path, c, 3000) for c in codes]
    ready = tmp_path / "ready"
    url = warehouse.role_url("loader")
    child = multiprocessing.get_context("fork").Process(
        target=_ingest_then_hang, args=(url, [str(m) for m in manifests], str(warehouse.state.home), where,
                                        str(ready)))
    child.start()
    deadline = time.monotonic() + 120
    while not ready.exists() and child.is_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ready.exists(), "the child never reached the kill point"
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    assert child.exitcode == -signal.SIGKILL

    def counts():
        with warehouse.connect() as conn:
            return conn.execute(
                "select count(*), count(distinct (r._batch_id, r._line)) from raw.transaction r "
                "where r.institution_code = any(%s)", (codes,)).fetchone()

    assert counts() == (0, 0)  # nothing of the killed transaction is visible
    outs = ingest_manifests(url, manifests, warehouse.state)
    assert sorted(o.status for o in outs) == ["accepted"] * 3
    with warehouse.connect() as conn:
        accepted_rows = conn.execute(
            "select sum(b.declared_rows) from ops.batch b join ops.submission s using (submission_id) "
            "where s.institution_code = any(%s) and b.status = 'accepted'", (codes,)).fetchone()[0]
        leftovers = conn.execute("select count(*) from pg_tables where schemaname = 'landing'").fetchone()[0]
    assert counts() == (accepted_rows, accepted_rows) == (9000, 9000)
    assert leftovers == 0
    assert ingest_manifests(url, manifests, warehouse.state) == [] and counts() == (9000, 9000)


# --------------------------------------------------------------------------- pseudonymisation
def test_identifiers_are_tokens_in_raw_equal_to_the_keyed_hash(warehouse, tmp_path):
    from include.privacy.pseudonymise import load_key, token

    admitted(warehouse, "PS001")
    m = submit_transactions(tmp_path, "PS001", 3)
    (out,) = ingest_manifests(warehouse.role_url("loader"), [m], warehouse.state)
    assert out.status == "accepted"
    key = load_key(warehouse.state)
    with warehouse.connect() as conn:
        rows = conn.execute("select account_no, counterparty_account, counterparty_name, purpose from raw.transaction "
                            "where institution_code = 'PS001' order by _line").fetchall()
        key_ids = conn.execute("select detail->>'pseudonym_key_id' from ops.batch where batch_id = %s",
                               (out.batch_id,)).fetchone()
    assert rows[0] == (token("6222000000000000000", "account", key), token("6222800000000000000", "account", key),
                       token("张三", "name", key), "工资")
    assert rows[1][0] == token("6222000000000000001", "account", key) and rows[0][0].startswith("tk_")
    assert key_ids[0] and key_ids[0] not in key.decode()


def test_the_same_value_gets_the_same_token_for_the_same_kind_only():
    from include.privacy.pseudonymise import token

    key = b"k" * 32
    assert token("11010519491231002x", "resident_id", key) == token(" 11010519491231002X", "resident_id", key)
    assert token("6222000000000000000", "account", key) != token("6222000000000000000", "phone", key)
    assert token("6222000000000000000", "account", key) != token("6222000000000000000", "account", b"j" * 32)
    assert token(None, "name", key) is None and token("", "name", key) is None


def test_sql_token_equals_python_hmac(warehouse):
    import hmac

    from include.privacy.pseudonymise import sql_params, token, token_sql

    for key in (b"s" * 32, b"a-much-longer-key-" * 6):
        with warehouse.connect("loader") as conn:
            got = conn.execute(f"select {token_sql('%(v)s::text', 'resident_id')}, {token_sql('%(n)s::text', 'name')}",
                               {"v": "11010519491231002x ", "n": "王芳", **sql_params(key)}).fetchone()
        assert got[0] == token("11010519491231002X", "resident_id", key)
        assert got[1] == "tk_" + hmac.new(key, "name:王芳".encode(), "sha256").hexdigest()[:32]


def test_the_key_comes_from_the_environment_or_a_private_generated_file(tmp_path, monkeypatch):
    from include.config import StatePaths
    from include.privacy.pseudonymise import KEY_ENV, load_key

    state = StatePaths(tmp_path)
    monkeypatch.delenv(KEY_ENV, raising=False)
    key = load_key(state)
    f = state.secrets / "pseudonym.key"
    assert f.stat().st_mode & 0o777 == 0o600 and load_key(state) == key and len(key) >= 32
    monkeypatch.setenv(KEY_ENV, "e" * 40)
    assert load_key(state) == b"e" * 40
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(ValueError, match=KEY_ENV):
        load_key(state)


def test_group_row_screens_reject_each_bad_file_with_its_line_and_promotion_from_the_typed_table_equals_the_cast(
        warehouse, tmp_path, code):
    """The row screens run once per group (include/ingest/screen.py, screen_rows): in one group, a file with
    another institution's row and a file with an overlong value are rejected with their own first offending
    line, the clean files load; promotion reads the gate's typed table and stores what the landing
    table's casts (ddl.typed_select) give."""
    from psycopg import sql

    from include.registry import ddl

    codes = [code + s for s in ("A", "B", "C")]
    admitted(warehouse, *codes)
    clean = submit(tmp_path, codes[0], capital_rows(codes[0]))
    other = submit(tmp_path, codes[1], capital_rows(codes[1]) + [capital_rows(codes[0])[0]])
    long_row = capital_rows(codes[2])[0][:]
    long_row[0] = codes[2] + "X" * 20  # institution_code: longer than its limit and not the submitter's
    overlong = submit(tmp_path, codes[2], capital_rows(codes[2]) * 2 + [long_row])
    outs = {o.batch_id: o for o in ingest_manifests(warehouse.role_url("loader"), [clean, other, overlong],
                                                    warehouse.state)}
    by_status = sorted((o.status, o.reason or "") for o in outs.values())
    assert [s for s, _ in by_status] == ["accepted", "rejected", "rejected"]
    reasons = [r for _, r in by_status[1:]]
    assert any(f"{codes[1]}-20250331-v1/capital_report.csv: line 3: institution_code" in r
               and "row_institution_matches_manifest" in r for r in reasons), reasons
    assert any(f"{codes[2]}-20250331-v1/capital_report.csv: line 4: institution_code" in r for r in reasons), reasons
    assert _raw_count(warehouse, codes[0]) == 1 and _raw_count(warehouse, codes[1]) == 0
    # the promoted row equals the landing table's cast of the same text
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in CAPITAL_REPORT.column_names)
    with warehouse.connect() as conn:
        conn.execute(ddl.landing_ddl(CAPITAL_REPORT, "t_cast"))
        conn.execute("select set_config(%s, '0', true), set_config(%s, %s, true)",
                     (ddl.BATCH_SETTING, ddl.PERIOD_SETTING, PERIOD))
        conn.execute(sql.SQL("insert into landing.t_cast ({}) values ({})").format(
            cols, sql.SQL(", ").join(sql.Literal(v) for v in capital_rows(codes[0])[0])))
        landing_cast = conn.execute(sql.SQL(ddl.typed_select(CAPITAL_REPORT).replace(
            " join ops.batch b on b.batch_id = l._batch_id where l._batch_id = any(%(batches)s)", "")
            .replace("b.file_sha256", "'x'")).format(sql.Identifier("landing", "t_cast"))).fetchone()
        promoted = conn.execute(sql.SQL("select {} from raw.capital_report where institution_code = %s").format(cols),
                                (codes[0],)).fetchone()
        conn.rollback()
    assert promoted == landing_cast[:len(CAPITAL_REPORT.column_names)]


def test_files_failing_first_between_and_last_in_a_group_leave_the_others_loaded_with_their_lines(
        warehouse, tmp_path, code, monkeypatch):
    """Each file's COPY runs under its own savepoint (taken with the file's settings in one round trip,
    released with the next file's): a file rejected first, between two loaded files, or last rolls back
    only its own rows; every loaded file keeps its rows, numbered from line 1 (the settings are the file's).
    The rejections (at COPY, and by the row screens after it) are recorded with the group's other status
    changes, one statement, not a savepoint and a statement each (``_reject``): one event each, its reason,
    the batch's status time the event's."""
    from include.ingest import loader

    def one_by_one(*a, **k):
        raise AssertionError("a file rejected at load recorded on its own")

    monkeypatch.setattr(loader, "_reject", one_by_one)
    codes = [code + s for s in "ABCDEF"]
    admitted(warehouse, *codes)
    header = ",".join(CAPITAL_REPORT.column_names)
    malformed = f"{header}\n{','.join(capital_rows(codes[0])[0])},extra\n".encode()
    manifests = [
        submit(tmp_path, codes[0], [], declared_rows=1, raw=malformed),  # COPY fails: line 2
        submit(tmp_path, codes[1], capital_rows(codes[1]) * 2),
        submit(tmp_path, codes[2], capital_rows(codes[2]), declared_rows=3),  # loads, then the row count fails
        submit(tmp_path, codes[3], capital_rows(codes[3]) * 3),
        submit(tmp_path, codes[4], capital_rows(codes[4]), declared_rows=2),  # the group's last file
        submit(tmp_path, codes[5], capital_rows(codes[3])),  # loads; the row screen finds another institution's row
    ]
    outs = ingest_manifests(warehouse.role_url("loader"), manifests, warehouse.state)
    assert len(outs) == 6
    with warehouse.connect() as conn:
        got = dict(conn.execute(
            "select s.institution_code, b.status || ' ' || coalesce(b.detail->>'reason', '') from ops.batch b "
            "join ops.submission s using (submission_id) where s.institution_code = any(%s)", (codes,)).fetchall())
        lines = conn.execute(  # the loaded files' rows, kept in raw or (a duplicate key) in quarantine
            "select institution_code, array_agg(_line order by _line) from (select institution_code, _line "
            "from raw.capital_report union all select institution_code, _line from quarantine.capital_report) r "
            "where institution_code = any(%s) group by 1 order by 1", (codes,)).fetchall()
    assert got[codes[0]].startswith("rejected ") and "line 2: " in got[codes[0]] and "well_formed" in got[codes[0]]
    assert got[codes[2]].startswith("rejected ") and "manifest_row_count" in got[codes[2]]
    assert got[codes[4]].startswith("rejected ") and "manifest_row_count" in got[codes[4]]
    assert got[codes[5]].startswith("rejected ") and \
        ": line 2: " in got[codes[5]] and "row_institution" in got[codes[5]]
    assert got[codes[1]] == "quarantined " and got[codes[3]] == "quarantined "  # their repeated key
    assert lines == [(codes[1], [1, 2]), (codes[3], [1, 2, 3])]
    with warehouse.connect() as conn:
        events = conn.execute(
            "select s.institution_code, e.status, e.detail->>'reason', e.at = b.status_at from ops.batch_event e "
            "join ops.batch b using (batch_id) join ops.submission s using (submission_id) "
            "where s.institution_code = any(%s) and e.status not in ('received', 'verified') order by 1, e.event_id",
            ([codes[i] for i in (0, 2, 4, 5)],)).fetchall()
    assert events == [(codes[i], "rejected", got[codes[i]].removeprefix("rejected "), True) for i in (0, 2, 4, 5)]


def test_rule_results_go_to_dq_result_by_copy_with_their_examples_intact(warehouse, tmp_path, code):
    """ops.dq_result is written by one COPY per group: examples holding tabs, newlines, carriage returns,
    backslashes, quotes, COPY's own markers (\\N, \\.) and non-ASCII text come back exactly; a NUL (which
    no submitted value can hold: the landing COPY refuses it) is refused as jsonb refuses it, nothing written."""
    import psycopg

    from include.ingest.loader import _record_results
    from include.ingest.results import RuleResult, ValidationOutcome

    (out,) = ingest_manifests(warehouse.role_url("loader"), [submit(tmp_path, code, capital_rows(code))],
                              warehouse.state)
    nasty = ["a\tb", "line1\nline2\r\n", "back\\slash \\N \\. \\t", "\"quoted\" 'single'", "银行 𝄞 é", "", None]
    examples = [{"line": i + 1, "column": "c\tx", "value": v} for i, v in enumerate(nasty)]
    results = [RuleResult("rule\twith tab", "expect_x", "warning", False, 7, None, examples),
               RuleResult("plain", "expect_y", "critical", True, None, 0, [])]
    outcome = ValidationOutcome(batch_table="t", results=results, passed=True, seconds=0.0)
    with warehouse.connect("loader", autocommit=True) as conn:
        _record_results(conn, {out.batch_id: outcome}, "tests")
        stored = conn.execute("select rule_name, expectation_type, severity, success, element_count, "
                              "unexpected_count, examples from ops.dq_result where batch_id = %s order by rule_name",
                              (out.batch_id,)).fetchall()
        assert stored == [("plain", "expect_y", "critical", True, None, 0, []),
                          ("rule\twith tab", "expect_x", "warning", False, 7, None, examples)]
        bad = [RuleResult("plain", "expect_y", "critical", True, 1, 0, [{"line": 1, "column": "c", "value": "a\x00b"}])]
        with pytest.raises(psycopg.errors.UntranslatableCharacter):
            _record_results(conn, {out.batch_id: ValidationOutcome("t", bad, True, 0.0)}, "tests")
        assert conn.execute("select count(*) from ops.dq_result where batch_id = %s",
                            (out.batch_id,)).fetchone()[0] == 2
