"""The fault suite (issue #14): the loader killed with SIGKILL at each phase, the database server killed
mid-COPY, mid-validation and mid-promotion, the archive's disk full, and duplicate / out-of-order /
revert resubmissions. After each, a rerun must leave every delivered row in ``raw`` exactly once:
rows lost = 0, rows duplicated = 0."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from include.ingest.loader import ingest_manifests
from tests.test_ingest import admitted, submit_transactions

ROWS = 2000
PHASES = ["register", "verify", "copy", "validate", "promote", "feedback"]


def _hang_at(where: str, ready: str) -> None:
    """Patch the loader (in the child) so that it stops dead at ``where`` and tells the parent."""
    from include.ingest import feedback, files, ledger, loader, promote, quality

    def hang(*a, **kw):
        Path(ready).write_text(where)
        time.sleep(600)

    if where == "register":  # the files archived, the database not yet written
        real_archive = ledger.archive_file
        calls = []

        def archive(*a, **kw):
            calls.append(1)
            if len(calls) == 2:
                hang()
            return real_archive(*a, **kw)

        ledger.archive_file = archive
    elif where == "verify":  # inside the verification transaction
        real_split = ledger._split_header
        seen = []

        def split(*a, **kw):
            seen.append(1)
            if len(seen) == 2:
                hang()
            return real_split(*a, **kw)

        ledger._split_header = split
    elif where == "copy":  # inside COPY's data, transaction open
        files.CHUNK = 4096
        real_stream = loader._byte_stream

        def stream(path, compression):
            for n, chunk in enumerate(real_stream(path, compression)):
                if n == 5:
                    hang()
                yield chunk

        loader._byte_stream = stream
    elif where == "validate":  # loaded, the GX gate running
        quality.validate_group = hang
    elif where == "promote":  # INSERT INTO raw done, before the commit
        promote._supersede = hang
    elif where == "feedback":  # everything committed, the feedback being written
        feedback.report_submissions = hang


def _child(url: str, manifests: list[str], home: str, where: str, ready: str) -> None:
    from include.config import StatePaths
    from include.ingest import gx_runtime

    gx_runtime._RUNTIME = None  # never use the parent's (forked) GX connection pool
    _hang_at(where, ready)
    ingest_manifests(url, [Path(m) for m in manifests], StatePaths(Path(home)))


def _start_and_wait(warehouse, manifests: list[Path], where: str, tmp_path: Path):
    ready = tmp_path / "ready"
    child = multiprocessing.get_context("fork").Process(
        target=_child, args=(warehouse.role_url("loader"), [str(m) for m in manifests], str(warehouse.state.home),
                             where, str(ready)))
    child.start()
    deadline = time.monotonic() + 120
    while not ready.exists() and child.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists(), f"the child never reached {where}"
    return child


def lost_and_duplicated(warehouse, codes: list[str], delivered: int) -> tuple[int, int]:
    """(rows lost, rows duplicated) of the current accepted versions of ``codes``' transactions."""
    with warehouse.connect() as conn:
        n, distinct = conn.execute(
            "select count(*), count(distinct (r.institution_code, r.txn_id)) from raw.transaction r "
            "join ops.batch b on b.batch_id = r._batch_id where b.status = 'accepted' "
            "and r.institution_code = any(%s)", (codes,)).fetchone()
    return delivered - distinct, n - distinct


def _finish(warehouse, manifests, codes):
    url = warehouse.role_url("loader")
    ingest_manifests(url, manifests, warehouse.state)
    assert ingest_manifests(url, manifests, warehouse.state) == []  # and again: nothing left to do
    with warehouse.connect() as conn:
        assert conn.execute("select count(*) from pg_tables where schemaname = 'landing'").fetchone()[0] == 0
        assert conn.execute(
            "select count(*) from ops.batch b join ops.submission s using (submission_id) "
            "where s.institution_code = any(%s) and b.status <> 'accepted'", (codes,)).fetchone()[0] == 0
    return lost_and_duplicated(warehouse, codes, ROWS * len(codes))


@pytest.mark.parametrize("where", PHASES)
def test_loader_killed_at_each_phase(warehouse, tmp_path, where):
    codes = [f"F{where[:3].upper()}{i}" for i in range(3)]
    admitted(warehouse, *codes)
    manifests = [submit_transactions(tmp_path, c, ROWS) for c in codes]
    child = _start_and_wait(warehouse, manifests, where, tmp_path)
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    assert child.exitcode == -signal.SIGKILL
    assert _finish(warehouse, manifests, codes) == (0, 0)


@pytest.mark.parametrize("where", ["copy", "validate", "promote"])
def test_database_server_killed(warehouse, tmp_path, where):
    from include.ingest import gx_runtime
    from include.warehouse.server import EmbeddedServer

    if os.environ.get("SUPERVISION_DATABASE_URL"):
        pytest.skip("an external database: the test does not kill a server it does not own")
    codes = [f"FS{where[:3].upper()}{i}" for i in range(3)]
    admitted(warehouse, *codes)
    manifests = [submit_transactions(tmp_path, c, ROWS) for c in codes]
    child = _start_and_wait(warehouse, manifests, where, tmp_path)
    server = EmbeddedServer(warehouse.state)
    port = server.status().port
    pid = int((warehouse.state.pgdata / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    server.up(port=port)  # the same port: every URL of the session names it
    gx_runtime._RUNTIME = None  # its pooled connections died with the server
    assert _finish(warehouse, manifests, codes) == (0, 0)


def test_archive_disk_full_defers_the_submission_then_loads_it(warehouse, tmp_path):
    from include.config import StatePaths

    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a small tmpfs needs root (mount -t tmpfs)")
    home = tmp_path / "small"
    home.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k,mode=0700", "tmpfs", str(home)],
                      capture_output=True).returncode != 0:
        pytest.skip("mount -t tmpfs is not permitted here")
    try:
        state = StatePaths(home)
        codes = ["FDISK0", "FDISK1"]
        admitted(warehouse, *codes)
        small = submit_transactions(tmp_path, codes[0], 100)
        big = submit_transactions(tmp_path, codes[1], 8000)  # about 1 MB: does not fit
        url = warehouse.role_url("loader")
        first = ingest_manifests(url, [small, big], state)
        assert [o.status for o in first] == ["accepted"]  # the small one loaded, the big one deferred
        subprocess.run(["mount", "-o", "remount,size=8m", str(home)], check=True)
        second = ingest_manifests(url, [small, big], state)
        assert [o.status for o in second] == ["accepted"]
        assert lost_and_duplicated(warehouse, codes[:1], 100) == (0, 0)
        assert lost_and_duplicated(warehouse, codes[1:], 8000) == (0, 0)
    finally:
        subprocess.run(["umount", "-l", str(home)], capture_output=True)


def test_duplicate_out_of_order_and_revert_resubmissions(warehouse, tmp_path):
    """v2 delivered before v1; v3 identical to v2 (a duplicate); v4 reverts to v1's content."""
    code = "FVERS"
    admitted(warehouse, code)
    url = warehouse.role_url("loader")
    a = submit_transactions(tmp_path / "a", code, 300)
    b = submit_transactions(tmp_path / "b", code, 500)
    raw_a, raw_b = (m.parent / "transaction.csv" for m in (a, b))

    def version(n: int, content: Path) -> Path:
        import json

        src = content.parent
        sub = f"{code}-{src.parent.name.replace('-', '')}-v{n}"
        dest = tmp_path / f"v{n}" / code / src.parent.name / sub
        dest.mkdir(parents=True)
        shutil.copy(content, dest / "transaction.csv")
        manifest = json.loads((src / "manifest.json").read_text())
        manifest.update(version=n, submission_id=sub)
        (dest / "manifest.json").write_text(json.dumps(manifest))
        return dest / "manifest.json"

    v1, v2, v3, v4 = version(1, raw_a), version(2, raw_b), version(3, raw_b), version(4, raw_a)
    statuses = {}
    for m in (v2, v1, v3, v4):  # out of order: v2 first
        for o in ingest_manifests(url, [m], warehouse.state):
            statuses[m.parent.name] = o.status
    assert statuses == {f"{code}-20250331-v2": "accepted", f"{code}-20250331-v1": "superseded",
                        f"{code}-20250331-v3": "duplicate", f"{code}-20250331-v4": "accepted"}
    assert lost_and_duplicated(warehouse, [code], 300) == (0, 0)  # the current version is v4 = v1's rows
