"""The hostile-input suite (issue #14): every case of tests/hostile_cases*.py delivered side by side
and ingested in one loader run (after one run for the cases' earlier versions). Each case must end
with its expected outcome and rule; nothing crashes, nothing bad is accepted, the clean submissions of
the same run load exactly once, nothing is written outside the state directory, and no raw resident
ID reaches ops, the outbox, the GX results or the server log."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections import Counter
from pathlib import Path

import pytest

import tests.hostile_cases_rows  # noqa: F401  (registers the row and version cases)
from tests.hostile_cases import CASES, Case

RESIDENT_ID = re.compile(r"(?<![0-9a-fA-F])[0-9]{17}[0-9X](?![0-9a-fA-F])")  # not inside a sha256


def resident_ids(text: str) -> list[str]:
    """18-character runs that are valid resident ID numbers (birth date and check character): a firm's
    USCC of 18 digits, as agency case packages carry, is not one."""
    from simulator.ids import is_valid_resident_id

    return [m for m in RESIDENT_ID.findall(text) if is_valid_resident_id(m)]
pytestmark = pytest.mark.filterwarnings("ignore")


def _codes() -> dict[str, str]:
    return {c.name: f"H{i:03d}" for i, c in enumerate(CASES, start=1)}


def _tree(root: Path) -> dict[str, tuple]:
    """Every entry under ``root`` (not following links): type, size, mtime."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            st = p.lstat()
            out[str(p)] = (stat.S_IFMT(st.st_mode), st.st_size if not stat.S_ISDIR(st.st_mode) else 0, st.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def hostile_run(warehouse, tmp_path_factory):
    from include.ingest.admission import admit
    from include.ingest.loader import ingest_manifests, pending_manifests

    base = tmp_path_factory.mktemp("hostile")
    landing, again, outside = base / "landing", base / "landing_again", base / "outside"
    for d in (landing, again, outside):
        d.mkdir()
    codes = _codes()
    with warehouse.connect("loader", autocommit=True) as conn:
        admit(conn, [codes[c.name] for c in CASES if c.admit], "hostile-input suite")
    url = warehouse.role_url("loader")
    first = [f for c in CASES if c.before for f in c.before(landing, codes[c.name])]
    ingest_manifests(url, [f / "manifest.json" for f in first], warehouse.state)
    folders = {c.name: c.build(landing, outside, codes[c.name]) for c in CASES}
    before = _tree(base)
    manifests = pending_manifests(url, landing) + pending_manifests(url, again)
    error = None
    try:
        outcomes = ingest_manifests(url, manifests, warehouse.state, dag_run_id="hostile")
    except Exception as e:  # a crash is a finding: every case then reports it
        outcomes, error = [], f"{type(e).__name__}: {e}"
    return {"codes": codes, "folders": folders, "outcomes": outcomes, "error": error, "base": base,
            "before": before, "after": _tree(base), "landing": landing, "again": again, "url": url}


def observed(conn, c: Case, code: str, folder: Path) -> tuple[str, str]:
    """(status, text naming the rule) of a case, from ops."""
    bad = conn.execute("select reason from ops.bad_manifest where landing_path = %s", (str(folder),)).fetchone()
    if bad:
        return "manifest", bad[0]
    row = conn.execute(
        "select b.status, coalesce(b.detail ->> 'reason', ''), "
        "coalesce((select string_agg(d.rule_name, ' ') from ops.dq_result d where d.batch_id = b.batch_id "
        "and not d.success and d.severity = 'critical'), '') "
        "from ops.batch b join ops.submission s using (submission_id) where s.landing_path = %s "
        "and b.dataset = %s", (str(folder), c.dataset)).fetchone()
    if row is None:
        return "missing", "no trace in ops"
    return row[0], f"{row[1]} {row[2]}".strip()


def verdict(status: str, text: str, c: Case) -> str:
    """right | wrong_rule | silently_accepted | crashed (no terminal state) | wrong_outcome"""
    if status not in ("manifest", "accepted", "quarantined", "rejected", "superseded", "duplicate"):
        return "crashed"
    if status == c.expect and (c.rule is None or c.rule in text):
        return "right"
    if status == c.expect:
        return "wrong_rule"
    if status == "accepted" and c.expect in ("manifest", "rejected", "quarantined"):
        return "silently_accepted"
    return "wrong_outcome"


def test_the_catalogue_has_at_least_60_hostile_cases():
    hostile = [c for c in CASES if c.expect in ("manifest", "rejected", "quarantined")]
    assert len(hostile) >= 60
    assert len({c.name for c in CASES}) == len(CASES)


def test_the_run_does_not_crash(hostile_run):
    assert hostile_run["error"] is None


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_case(hostile_run, warehouse, c):
    code = hostile_run["codes"][c.name]
    with warehouse.connect() as conn:
        status, text = observed(conn, c, code, hostile_run["folders"][c.name])
    assert verdict(status, text, c) == "right", f"{c.name}: expected {c.expect} ({c.rule}), got {status}: {text}"


def test_summary_table(hostile_run, warehouse, capsys):
    """The issue's table: tried / right outcome and rule / crashed / silently accepted."""
    counts: Counter[str] = Counter()
    with warehouse.connect() as conn:
        for c in CASES:
            status, text = observed(conn, c, hostile_run["codes"][c.name], hostile_run["folders"][c.name])
            counts[("hostile " if c.expect in ("manifest", "rejected", "quarantined") else "control ")
                   + verdict(status, text, c)] += 1
    with capsys.disabled():
        print("\nhostile-input cases:", dict(sorted(counts.items())))
    assert counts["hostile crashed"] == counts["hostile silently_accepted"] == 0


def test_clean_submissions_of_the_same_run_load_exactly_once(hostile_run, warehouse):
    codes = [hostile_run["codes"][c.name] for c in CASES if c.expect == "accepted"]
    with warehouse.connect() as conn:
        rows = conn.execute(
            "select s.institution_code, b.dataset, b.declared_rows, b.batch_id from ops.batch b "
            "join ops.submission s using (submission_id) where s.institution_code = any(%s) and b.status = 'accepted'",
            (codes,)).fetchall()
        assert {r[0] for r in rows} == set(codes)
        for _code, dataset, declared, batch_id in rows:
            n, distinct = conn.execute(f"select count(*), count(distinct _line) from raw.{dataset} "
                                       "where _batch_id = %s", (batch_id,)).fetchone()
            assert n == distinct == declared
        # this run's batches only: the warehouse is shared, and other modules' tests may leave a batch of theirs
        # mid-way on purpose (e.g. test_ingest's direct `_record_results` leaves one 'validated')
        assert conn.execute("select count(*) from ops.batch b join ops.submission s using (submission_id) "
                            "where s.institution_code = any(%s) and b.status not in "
                            "('accepted','quarantined','rejected','superseded','duplicate')",
                            (list(hostile_run["codes"].values()),)).fetchone()[0] == 0
        assert conn.execute("select count(*) from pg_tables where schemaname = 'landing'").fetchone()[0] == 0


def test_a_rerun_finds_nothing_pending(hostile_run):
    from include.ingest.loader import pending_manifests

    assert pending_manifests(hostile_run["url"], hostile_run["landing"]) == []
    assert pending_manifests(hostile_run["url"], hostile_run["again"]) == []


def test_nothing_written_outside_the_state_directory(hostile_run, warehouse):
    assert hostile_run["after"] == hostile_run["before"]  # the landing zone and the link targets untouched
    archived = {p.name.split(".")[0] for p in warehouse.state.archive.rglob("*") if p.is_file()}
    for target in ["/etc/passwd", *[str(p) for p in (hostile_run["base"] / "outside").glob("*-secret.csv")]]:
        assert hashlib.sha256(Path(target).read_bytes()).hexdigest() not in archived


def test_state_files_are_private(hostile_run, warehouse):
    state = warehouse.state
    for root in (state.archive, state.outbox, state.gx_results):
        for p in [root, *root.rglob("*")]:
            if p.exists() and not p.is_symlink():
                assert p.stat().st_mode & 0o077 == 0, f"{p} is readable by others: {oct(p.stat().st_mode)}"


def test_no_raw_resident_id_in_ops_outbox_gx_results_or_server_log(hostile_run, warehouse):
    with warehouse.connect() as conn:
        texts = conn.execute(
            "select coalesce(string_agg(detail::text, ' '), '') from ops.batch union all "
            "select coalesce(string_agg(detail::text, ' '), '') from ops.batch_event union all "
            "select coalesce(string_agg(examples::text, ' '), '') from ops.dq_result union all "
            "select coalesce(string_agg(reason, ' '), '') from ops.bad_manifest").fetchall()
    for (t,) in texts:
        assert not resident_ids(t)
    for root in (warehouse.state.outbox, warehouse.state.gx_results):
        for p in root.rglob("*"):
            if p.is_file():
                assert not resident_ids(p.read_text(errors="replace")), p
    log = warehouse.state.pgdata / "server.log"
    if log.exists():
        assert not resident_ids(log.read_text(errors="replace"))


def test_no_gx_data_docs_render_submitted_values(hostile_run, warehouse):
    pages = [p for p in warehouse.state.gx_results.rglob("*.html")]
    assert not any("<script>alert(1)</script>" in p.read_text(errors="replace") for p in pages)
