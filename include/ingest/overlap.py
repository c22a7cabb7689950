"""A group's promotion on a second connection, while the next group of the same dataset is loaded and
validated: the promotion's single-threaded insert (identifiers tokenised by HMAC-SHA256 in SQL) and
the next group's COPY and gate keep both cores busy.

Nothing changes in what is decided: each promotion is still one transaction (raw or quarantine,
statuses, supersession, the landing table dropped: all or nothing), promotions run one at a time in
group order, and a group's load and gate overlap the previous promotion only when they read nothing it
writes (:meth:`Promoter.may_overlap`): not the institution dataset (its identity screen reads the
accepted record), not a dataset whose rules read its own raw rows, and not a group sharing an
(institution, period) with the previous one (the empty-resubmission screen reads earlier versions).
Before the next dataset starts (it may reference this one), every promotion has committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import psycopg

from include.registry.datasets import Dataset
from include.warehouse.connection import libpq_url

log = logging.getLogger(__name__)


def reads_own_rows(ds: Dataset) -> bool:
    """Whether a rule of ``ds`` reads ``raw``/``quarantine`` rows of ``ds`` itself."""
    return any((r.kind == "references" and ds.name in r.params.get("datasets", ()))
               or (r.kind == "reconciles" and r.params.get("dataset") == ds.name) for r in ds.rules)


class Promoter:
    """Runs promotions one at a time on its own connection (opened on first use, closed on exit)."""

    def __init__(self, url: str, conn: psycopg.Connection, fail_group: Callable, dag_run_id: str | None) -> None:
        self.url, self.conn, self.fail_group, self.dag_run_id = url, conn, fail_group, dag_run_id
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="promote")
        self.pconn: psycopg.Connection | None = None
        self.pending: tuple[Dataset, list[dict], list, Future] | None = None

    def __enter__(self) -> Promoter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.wait()
            elif self.pending is not None:  # leave no promotion running; the first error is the one raised
                self.pending[3].exception()
                self.pending = None
        finally:
            self.pool.shutdown(wait=True)
            if self.pconn is not None:
                self.pconn.close()

    def may_overlap(self, ds: Dataset, group: list[dict]) -> bool:
        """Whether ``group``'s load and gate may run while the pending promotion (if any) does."""
        if self.pending is None:
            return True
        prev_ds, prev_group = self.pending[0], self.pending[1]
        if prev_ds.name != ds.name or ds.name == "institution" or reads_own_rows(ds):
            return False
        keys = {(b["institution_code"], b["period"]) for b in prev_group}
        return not any((b["institution_code"], b["period"]) in keys for b in group)

    def submit(self, ds: Dataset, group: list[dict], promote: Callable, outcomes: list) -> None:
        """Start ``promote(connection)`` after the pending one; its outcomes go to ``outcomes``."""
        self.wait()
        self.pending = (ds, group, outcomes, self.pool.submit(self._run, promote))

    def _run(self, promote: Callable) -> list:
        if self.pconn is None:
            self.pconn = psycopg.connect(libpq_url(self.url), autocommit=True)
        return promote(self.pconn)

    def wait(self) -> None:
        """Wait for the pending promotion. A failure is handled as the group's own (its unfinished batches
        rejected as a processing error), except a lost connection, which is raised: a rerun resumes."""
        if self.pending is None:
            return
        ds, group, outcomes, future = self.pending
        self.pending = None
        try:
            outcomes.extend(future.result())
        except psycopg.OperationalError:
            raise
        except Exception as e:  # one group's failure must not stop the others (issue #14)
            log.exception("%s: group of %d batches could not be promoted", ds.name, len(group))
            outcomes.extend(self.fail_group(self.conn, ds, group, e, self.dag_run_id))
