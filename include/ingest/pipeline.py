"""What the ``ingest_submissions`` DAG calls: discover pending submissions, ingest a shard of them,
summarise. Kept free of Airflow imports so it is tested directly."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from include.config import StatePaths, paths
from include.ingest.loader import ingest_manifests, pending_manifests

log = logging.getLogger(__name__)


def discover_shards(url: str, landing: Path | None = None, max_shards: int = 2) -> list[list[str]]:
    """Pending submissions split into at most ``max_shards`` lists of manifest paths.

    Submissions of one institution stay in one shard, in version order, so a resubmission is never
    processed concurrently with the version it supersedes.
    """
    landing = landing or paths().landing
    pending = pending_manifests(url, landing)
    by_inst: dict[str, list[str]] = {}
    for p in pending:
        by_inst.setdefault(p.parent.parent.parent.name, []).append(str(p))
    shards: list[list[str]] = [[] for _ in range(max(1, min(max_shards, len(by_inst))))]
    for i, inst in enumerate(sorted(by_inst)):
        shards[i % len(shards)].extend(sorted(by_inst[inst], key=_version_key))
    return [s for s in shards if s]


def _version_key(path: str) -> tuple[str, int]:
    name = Path(path).parent.name
    period = Path(path).parent.parent.name
    try:
        return period, int(name.rsplit("-v", 1)[1])
    except (IndexError, ValueError):
        return period, 0


def ingest_shard(url: str, manifests: list[str], dag_run_id: str | None = None,
                 state: StatePaths | None = None) -> dict:
    """Ingest each submission of the shard; return counts by dataset and status (small, for XCom)."""
    counts: Counter[str] = Counter()
    rows: Counter[str] = Counter()
    for out in ingest_manifests(url, [Path(m) for m in manifests], state, dag_run_id):
        counts[f"{out.dataset}:{out.status}"] += 1
        if out.status == "accepted":
            rows[out.dataset] += out.rows
    return {"submissions": len(manifests), "batches": dict(counts), "accepted_rows": dict(rows)}


def accepted_datasets(summaries: list[dict]) -> set[str]:
    out = set()
    for s in summaries:
        for key, n in s.get("batches", {}).items():
            ds, status = key.split(":")
            if status in ("accepted", "superseded") and n:
                out.add(ds)
    return out
