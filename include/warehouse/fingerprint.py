"""Has anything the dbt project reads changed since the last successful build?

``build_warehouse`` runs whenever an ingest DAG publishes an Asset, also when the run loaded nothing new
(a rerun, a feed with no new items). Then dbt would re-create every view and table to the same rows: on
``small`` two minutes. The DAG asks :func:`inputs_changed` first and skips the build when the answer is no.

The fingerprint covers, cheaply and whatever the history:

* every relation the project declares as a dbt source (from ``manifest.json``), partitions included,
  except the model outputs in schema ``ml`` (``score_risk`` writes them after every build and rebuilds the
  marts that read them itself: counting them would make every build trigger the next one):
  PostgreSQL's cumulative per-table counters of inserted, updated and deleted rows
  (``pg_stat_all_tables``) of the relation itself, its partitions, and the tables under a view (e.g. the
  supervisors' decisions under ``ops.alert_disposition_current``). ``pg_partition_tree`` alone lists nothing
  for a table that is not partitioned: until 7 Dec the external feeds (``raw_ext``) and ``ops`` tables were
  left out. They only grow; a statistics reset or a crash resets them, which reads as a
  change (a build too many, never one too few);
* ``ops.batch`` counted by dataset and status, with its largest id: the submissions' lifecycle, exact and
  transactional (the counters above are flushed when the writing session ends or goes idle, which the
  ingest tasks do before they publish);
* the project itself: every file under ``dbt_project/`` that dbt reads (models, macros, seeds, snapshots,
  ``dbt_project.yml``), so a changed model or variable rebuilds.

The fingerprint of the last successful build is kept in ``<state>/dbt_target/inputs.fingerprint`` (0600).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from include.config import DBT_PROJECT_DIR, StatePaths, paths

PROJECT_PARTS = ("models", "macros", "seeds", "snapshots", "dbt_project.yml")


def _project_digest(project: Path = DBT_PROJECT_DIR) -> str:
    h = hashlib.sha256()
    for part in PROJECT_PARTS:
        root = project / part
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in files:
            h.update(str(f.relative_to(project)).encode())
            h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


#: source schemas left out of the fingerprint (see the module docstring)
OWN_DOWNSTREAM_SCHEMAS = ("ml",)


def source_relations(manifest: Path) -> list[str]:
    """``schema.table`` of every dbt source of the project but the ``ml`` outputs, sorted."""
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    return sorted({f"{s['schema']}.{s['identifier']}" for s in doc["sources"].values()
                   if s["schema"] not in OWN_DOWNSTREAM_SCHEMAS})


def fingerprint(conn, manifest: Path) -> str:
    """The fingerprint of the project's inputs now (``conn``: any role that can read ops.batch)."""
    relations = source_relations(manifest)
    counters = conn.execute(
        """
        with recursive wanted (rel) as (
            select to_regclass(name)::oid from unnest(%s::text[]) as name where to_regclass(name) is not null
            union
            select depends.refobjid
            from wanted
            inner join pg_rewrite as rules on rules.ev_class = wanted.rel
            inner join pg_depend as depends
                on depends.classid = 'pg_rewrite'::regclass and depends.objid = rules.oid
                and depends.refclassid = 'pg_class'::regclass and depends.refobjid <> wanted.rel
        ),
        tree (relid) as (
            select wanted.rel from wanted
            union
            select tree.relid from wanted, pg_partition_tree(wanted.rel) as tree
        )
        select stats.schemaname || '.' || stats.relname, stats.n_tup_ins, stats.n_tup_upd, stats.n_tup_del
        from tree inner join pg_stat_all_tables as stats on stats.relid = tree.relid
        where stats.schemaname <> all(%s)  -- not even when a view leads there
        order by 1
        """, [relations, list(OWN_DOWNSTREAM_SCHEMAS)]).fetchall()
    batches = conn.execute(
        "select dataset, status, count(*), max(batch_id) from ops.batch group by dataset, status order by 1, 2"
    ).fetchall()
    doc = {"relations": relations, "counters": counters, "batches": batches, "project": _project_digest()}
    return hashlib.sha256(json.dumps(doc, default=str, sort_keys=True).encode()).hexdigest()


def _stored(state: StatePaths) -> Path:
    return state.dbt_target / "inputs.fingerprint"


def inputs_changed(conn, state: StatePaths | None = None) -> str | None:
    """The current fingerprint if it differs from the last successful build's (or there is none), else
    None: nothing the project reads has changed, the build can be skipped."""
    state = state or paths()
    current = fingerprint(conn, state.dbt_target / "manifest.json")
    stored = _stored(state)
    if stored.exists() and stored.read_text(encoding="utf-8").strip() == current:
        return None
    return current


def record_build(current: str, state: StatePaths | None = None) -> None:
    """Remember ``current`` (the fingerprint taken before a build that then succeeded)."""
    path = _stored(state or paths())
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(current + "\n")
