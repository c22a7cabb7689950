"""DDL derived from the dataset registry (include/registry/datasets.py): landing, raw and quarantine tables.

* ``landing.<dataset>_g<first batch id>``: one table per group of batches of a dataset, every column
  ``text`` (so a malformed value is reported by the quality gate with its line instead of aborting
  COPY), plus ``_batch_id``, ``_period`` and ``_line``, the record's position in its file (1 = first
  data row after the header).
* ``raw.<dataset>``: typed, append-only, LIST-partitioned by period, every row tagged with
  ``_batch_id``, ``_file_sha256`` and ``_line``.
* ``quarantine.<dataset>``: rejected batches kept as received (text), with the same lineage.

In both ``raw`` and ``quarantine`` personal identifiers are tokens (include/privacy/pseudonymise.py);
only the landing tables (dropped after promotion) and the archive hold them as submitted.
"""

from __future__ import annotations

from psycopg import sql

from include.privacy.pseudonymise import token_sql
from include.registry.datasets import Dataset
from include.registry.feeds import Feed


def q(ident: str) -> str:
    """An identifier quoted for SQL text (psycopg's own quoting: ``sql.Identifier``)."""
    return sql.Identifier(ident).as_string()


def landing_table(dataset: Dataset, group_id: int) -> str:
    """A landing table holds a group of batches of one dataset (named after its first batch)."""
    return f"{dataset.name}_g{group_id}"


#: Transaction-local settings the landing table's ``_batch_id`` and ``_period`` defaults read: the
#: loader sets them (and restarts ``_line``'s sequence with ``setval``) before each file's COPY, which
#: costs no catalog change, unlike an ``ALTER TABLE`` per file. Unset, an insert without explicit
#: values fails instead of tagging rows with a wrong batch.
BATCH_SETTING = "supervision.landing_batch_id"
PERIOD_SETTING = "supervision.landing_period"


def landing_ddl(dataset: Dataset, table: str) -> str:
    """Every registry column as text, plus ``_batch_id``, ``_period`` (the submission's period, set
    per COPY) and ``_line`` (record number in its file, restarted at 1 for every file)."""
    cols = ",\n    ".join(f"{q(c.name)} text" for c in dataset.columns)
    return (f"create unlogged table landing.{q(table)} (\n"
            f"    _batch_id bigint not null default current_setting('{BATCH_SETTING}')::bigint,\n"
            f"    _period text not null default current_setting('{PERIOD_SETTING}'),\n"
            f"    _line bigint generated always as identity,\n    {cols}\n)")


def raw_ddl(dataset: Dataset) -> str:
    cols = ",\n    ".join(
        f"{q(c.name)} {c.pg_type}" for c in dataset.columns
    )
    return (f"create table if not exists raw.{q(dataset.name)} (\n"
            f"    {cols},\n"
            f"    _batch_id bigint not null,\n"
            f"    _file_sha256 text not null,\n"
            f"    _line bigint not null,\n"
            f"    _loaded_at timestamptz not null default now()\n"
            f") partition by list ({q(dataset.period_column)})")


def raw_partition_ddl(dataset: Dataset, period: str) -> str:
    part = f"{dataset.name}_p{period.replace('-', '')}"
    return (f"create table if not exists raw.{q(part)} partition of raw.{q(dataset.name)} "
            f"for values in ('{period}')")


def quarantine_ddl(dataset: Dataset) -> str:
    cols = ",\n    ".join(f"{q(c.name)} text" for c in dataset.columns)
    return (f"create table if not exists quarantine.{q(dataset.name)} (\n"
            f"    {cols},\n"
            f"    _batch_id bigint not null,\n"
            f"    _file_sha256 text not null,\n"
            f"    _line bigint not null,\n"
            f"    _quarantined_at timestamptz not null default now()\n)")


def cast_text(expr: str, pg_type: str) -> str:
    """A landing table's text ``expr`` as the registry's type: an empty string is NULL."""
    e = f"nullif({expr}, '')"
    return e if pg_type == "text" else f"{e}::{pg_type}"


def typed_select(dataset: Dataset) -> str:
    """``select <typed columns>, l._batch_id, b.file_sha256, l._line from {landing} l ...`` where the
    batch is one of ``%(batches)s``: a template for ``psycopg.sql.SQL(...).format`` that casts a
    landing table's text to the registry's types (an empty string is NULL) and replaces personal
    identifiers by their tokens (include/privacy/pseudonymise.py; needs its ``sql_params``)."""
    exprs = []
    for c in dataset.columns:
        if c.pii:
            e = token_sql(f"nullif(l.{q(c.name)}, '')", c.pii)
            exprs.append(e if c.pg_type == "text" else f"{e}::{c.pg_type}")
        else:
            exprs.append(cast_text(f"l.{q(c.name)}", c.pg_type))
    return ("select " + ", ".join(exprs) + ", l._batch_id, b.file_sha256, l._line from {} l "
            "join ops.batch b on b.batch_id = l._batch_id where l._batch_id = any(%(batches)s)")


def quarantine_select(dataset: Dataset) -> str:
    """Like :func:`typed_select` for ``quarantine.<dataset>``: the text kept as submitted (so the
    feedback can point at it), except personal identifiers, which are tokens there too."""
    exprs = [token_sql(f"l.{q(c.name)}", c.pii) if c.pii else f"l.{q(c.name)}" for c in dataset.columns]
    return ("select " + ", ".join(exprs) + ", l._batch_id, b.file_sha256, l._line from {} l "
            "join ops.batch b on b.batch_id = l._batch_id where l._batch_id = any(%(batches)s)")


# ---------------------------------------------------------------------------- external feeds
#: the lineage of the stored version of an external record, after its served fields
FEED_LINEAGE = """fetch_id bigint not null, request_no integer not null, page_no integer not null,
    record_index integer not null, fetched_at timestamptz not null, record_sha256 text not null,
    record jsonb not null"""


def feed_ddl(feed: Feed) -> str:
    """``raw_ext.<feed>`` (the latest version per natural key) and ``raw_ext.<feed>_history`` (every
    version: natural key + version), with the lineage columns and each field's description as its
    comment. Idempotent."""
    cols = ",\n    ".join(f"{q(c.name)} {c.pg_type}" + ("" if c.nullable else " not null")
                          + (" primary key" if c.name == feed.key else "") for c in feed.columns)
    comments = "\n".join(
        f"comment on column raw_ext.{q(t)}.{q(c.name)} is "
        f"{_literal(' / '.join(x for x in (c.zh, c.en, 'personal data: ' + c.pii if c.pii else '') if x))};"
        for t in (feed.name, feed.name + "_history") for c in feed.columns if c.zh or c.en)
    return (f"create table if not exists raw_ext.{q(feed.name)} (\n    {cols},\n    {FEED_LINEAGE}\n);\n"
            f"create table if not exists raw_ext.{q(feed.name + '_history')} (like raw_ext.{q(feed.name)} "
            f"including defaults, primary key ({q(feed.key)}, version));\n"
            f"comment on table raw_ext.{q(feed.name)} is {_literal(f'{feed.zh} / {feed.en}')};\n{comments}")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
