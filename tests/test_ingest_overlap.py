"""A group's promotion overlapping the next group's load and gate (include/ingest/overlap.py): the same
decisions as one after the other, promotions in group order, a failing promotion stops only its group."""

from __future__ import annotations

import itertools

from include.ingest import loader, overlap
from include.ingest.loader import ingest_manifests
from tests.test_ingest import admitted, capital_rows, submit

_codes = itertools.count(1)


def _statuses(warehouse, codes: list[str]) -> dict[tuple[str, int], str]:
    with warehouse.connect() as conn:
        return {(c, v): s for c, v, s in conn.execute(
            "select s.institution_code, s.version, b.status from ops.batch b join ops.submission s "
            "using (submission_id) where s.institution_code = any(%s)", (codes,))}


def _spy_overlaps(monkeypatch) -> list[bool]:
    seen: list[bool] = []
    real = overlap.Promoter.may_overlap

    def may_overlap(self, ds, group):
        ok = real(self, ds, group)
        seen.append(ok and self.pending is not None)
        return ok

    monkeypatch.setattr(overlap.Promoter, "may_overlap", may_overlap)
    return seen


def test_overlapping_promotions_decide_as_one_after_the_other(warehouse, tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "GROUP_MAX", 2)  # seven submissions: four groups
    overlapped = _spy_overlaps(monkeypatch)
    codes = [f"OV{next(_codes):03d}" for _ in range(6)]
    admitted(warehouse, *codes)
    manifests = [submit(tmp_path / "v1", c, capital_rows(c)) for c in codes[:5]]
    manifests.append(submit(tmp_path / "v1", codes[5], capital_rows(codes[5], "-1.00")))  # critical: quarantined
    manifests.append(submit(tmp_path / "v2", codes[0], capital_rows(codes[0], "1400.00"), version=2))
    outcomes = ingest_manifests(warehouse.role_url("loader"), manifests, warehouse.state)

    assert any(overlapped), "no group's load overlapped the previous group's promotion"
    assert sorted(o.status for o in outcomes) == ["accepted"] * 6 + ["quarantined"]  # v1 superseded later
    assert _statuses(warehouse, codes) == {
        **{(c, 1): "accepted" for c in codes[1:5]}, (codes[0], 1): "superseded", (codes[0], 2): "accepted",
        (codes[5], 1): "quarantined"}
    with warehouse.connect() as conn:
        raw = conn.execute("select count(*) from raw.capital_report where institution_code = any(%s)",
                           (codes,)).fetchone()[0]
        left = conn.execute("select count(*) from pg_tables where schemaname = 'landing'").fetchone()[0]
    assert (raw, left) == (6, 0)  # v1 and v2 of codes[0] both stay in raw; nothing left in landing
    assert ingest_manifests(warehouse.role_url("loader"), manifests, warehouse.state) == []


def test_a_promotion_failing_in_the_background_rejects_only_its_group(warehouse, tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "GROUP_MAX", 2)
    overlapped = _spy_overlaps(monkeypatch)
    codes = [f"OV{next(_codes):03d}" for _ in range(6)]
    admitted(warehouse, *codes)
    manifests = [submit(tmp_path, c, capital_rows(c)) for c in codes]
    real = loader.promote_group
    calls = itertools.count()

    def promote_group(conn, ds, table, group, *args, **kwargs):
        if next(calls) == 1:  # the second group's promotion, on the second connection
            raise RuntimeError("disk full")
        return real(conn, ds, table, group, *args, **kwargs)

    monkeypatch.setattr(loader, "promote_group", promote_group)
    outcomes = ingest_manifests(warehouse.role_url("loader"), manifests, warehouse.state)

    assert any(overlapped)
    by_status = sorted(o.status for o in outcomes)
    assert by_status == ["accepted"] * 4 + ["rejected"] * 2
    reasons = [o.reason for o in outcomes if o.status == "rejected"]
    assert all("could not be processed (RuntimeError) (rule: processing_error)" in r for r in reasons), reasons
    with warehouse.connect() as conn:
        left = conn.execute("select count(*) from pg_tables where schemaname = 'landing'").fetchone()[0]
    assert left == 0


def _race(url: str, create) -> BaseException | None:
    """Two shards' promotions creating the same new partition at once: the first holds it uncommitted while
    the second tries (``create(conn)``), then commits; returns what the second one raised, if anything."""
    import threading
    import time

    import psycopg

    raised: list[BaseException] = []
    with psycopg.connect(url) as first, psycopg.connect(url) as second:
        create(first)  # in first's open transaction
        pid = second.info.backend_pid

        def other() -> None:
            try:
                create(second)
                second.commit()
            except BaseException as e:  # noqa: BLE001 - handed to the test
                raised.append(e)
                second.rollback()

        t = threading.Thread(target=other)
        t.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the second one waits for the first's transaction
            if first.execute("select wait_event_type = 'Lock' from pg_stat_activity where pid = %s",
                             (pid,)).fetchone()[0]:
                break
            time.sleep(0.05)
        first.commit()
        t.join(30)
    return raised[0] if raised else None


def test_two_shards_creating_one_new_partition_at_once_both_go_on(warehouse):
    """A deployed DAG runs its shards side by side: both promotions may create the same period's partition.
    ``create table if not exists`` alone fails in the second one once the first commits (the race is real);
    :func:`include.ingest.promote.create_partition` takes that as "it exists now" and goes on."""
    import psycopg

    from include.ingest.promote import create_partition
    from include.registry import ddl
    from include.registry.datasets import get
    from include.warehouse.connection import libpq_url

    ds = get("capital_report")
    url = libpq_url(warehouse.role_url("loader"))
    bare = _race(url, lambda conn: conn.execute(ddl.raw_partition_ddl(ds, "1999-11-30")))
    assert isinstance(bare, (psycopg.errors.DuplicateTable, psycopg.errors.UniqueViolation)), bare
    assert _race(url, lambda conn: create_partition(conn, ds, "1999-12-31")) is None
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute("select count(*) from pg_tables where schemaname = 'raw' and tablename = any(%s)",
                             (["capital_report_p19991130", "capital_report_p19991231"],)).fetchone()[0]
        conn.execute("drop table raw.capital_report_p19991130, raw.capital_report_p19991231")
    assert found == 2
