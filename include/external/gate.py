"""The quality gate for one fetched page of a feed.

1. **Shape** (:func:`check_shape`): every item is an object whose fields are the registered ones
   (:mod:`include.registry.feeds`). A field the registry does not know, or a registered field absent
   from every item of a page, means the feed changed shape (e.g. ``schema_version=2`` renamed a field):
   :class:`~include.external.client.FeedShapeError` naming the feed, page, record and field. The loader
   then rolls the whole fetch back, so nothing of it is loaded.
2. **Records** (:func:`screen`): each record is typed from its fields' ``pg_type`` and checked against
   the feed's rules (``not_null``, ``regex``, ``uscc`` via the warehouse's ``ops.uscc_valid``). A record
   failing a critical rule is rejected with the rule, the field and a reason naming feed/page/record;
   the others pass on, typed, to the loader.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg

from include.external.client import FeedShapeError, Page
from include.privacy.masking import mask
from include.registry.datasets import Rule
from include.registry.feeds import Feed

log = logging.getLogger(__name__)

CST = timezone(timedelta(hours=8))
#: A registered field absent from every item of a page this large is a shape change, not bad records.
MIN_ITEMS_FOR_MISSING_FIELD = 5


@dataclass
class Screened:
    index: int  # position in the page
    key: str | None
    version: int | None
    record: dict  # as served
    sha256: str
    values: dict[str, Any] | None = None  # typed, when accepted
    rule: str | None = None  # the first failed rule, when rejected
    field: str | None = None
    reason: str | None = None

    @property
    def accepted(self) -> bool:
        return self.rule is None


def record_sha256(record: dict) -> str:
    return hashlib.sha256(json.dumps(record, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def check_shape(feed: Feed, page: Page) -> None:
    known = set(feed.field_names)
    where = f"feed {feed.name!r} page {page.page_no}"
    for i, item in enumerate(page.items):
        if not isinstance(item, dict):
            raise FeedShapeError(f"{where} record {i}: expected an object, got {type(item).__name__}")
        unknown = sorted(set(item) - known)
        if unknown:
            missing = sorted(known - set(item))
            raise FeedShapeError(
                f"{where} record {i} ({feed.key}={item.get(feed.key)!r}): unexpected field(s) {unknown}"
                + (f", registered field(s) {missing} absent" if missing else "")
                + "; the feed changed shape. Update the registry in include/registry/feeds.py. "
                  "Nothing of this fetch was loaded.")
    if len(page.items) >= MIN_ITEMS_FOR_MISSING_FIELD:
        for name in feed.field_names:
            if all(name not in item for item in page.items):
                raise FeedShapeError(f"{where}: registered field {name!r} absent from all {len(page.items)} "
                                     "records; the feed changed shape. Nothing of this fetch was loaded.")


def typed_value(pg_type: str, v: Any) -> Any:
    """``v`` converted for ``pg_type``; ValueError with what was expected."""
    base = pg_type.split("(")[0]
    if base == "text":
        if not isinstance(v, str):
            raise ValueError("expected text")
        return v
    if base in ("integer", "bigint", "smallint"):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError("expected an integer")
        return v
    if base == "numeric":
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError("expected a number")
        return Decimal(str(v))
    if base == "date":
        if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}T00:00(:00)?", v):
            v = v[:10]  # a date written as midnight (some sources serialise dates as datetimes)
        if not isinstance(v, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            raise ValueError("expected a date YYYY-MM-DD")
        try:
            return date.fromisoformat(v)
        except ValueError:
            raise ValueError("expected a real date YYYY-MM-DD") from None
    if base == "timestamptz":
        if not isinstance(v, str):
            raise ValueError("expected an ISO 8601 timestamp")
        try:
            dt = datetime.fromisoformat(v)
        except ValueError:
            raise ValueError("expected an ISO 8601 timestamp") from None
        return dt if dt.tzinfo else dt.replace(tzinfo=CST)  # the feeds' convention: naive = +08:00
    if base == "jsonb":
        if not isinstance(v, list | dict):
            raise ValueError("expected a JSON list or object")
        return psycopg.types.json.Jsonb(v)
    raise ValueError(f"unsupported type {pg_type}")  # pragma: no cover - registry uses the types above


def _applies(rule: Rule, rec: dict) -> bool:
    when = rule.params.get("when")
    return when is None or rec.get(when[0]) == when[1]


def _rule_failure(rule: Rule, rec: dict, pii: dict[str, str | None]) -> tuple[str, str] | None:
    """(field, what) if ``rec`` fails ``rule`` (uscc rules are checked in the database, not here)."""
    if not _applies(rule, rec):
        return None
    for col in rule.columns:
        v = rec.get(col)
        if rule.kind == "not_null":
            if col not in rec:
                return col, "mandatory field missing"
            if v is None or v == "":
                return col, "mandatory field empty"
        elif rule.kind == "regex" and isinstance(v, str):
            cap = rule.params.get("unless_len")
            if cap is not None and len(v) >= cap:
                continue
            if not re.search(rule.params["pattern"], v):
                return col, f"does not match {rule.params['pattern']!r} ({rule.en}): ...{mask(v[-20:], pii[col])!r}"
    return None


def screen(conn: psycopg.Connection, feed: Feed, page: Page) -> list[Screened]:
    """Type and check every record of ``page`` (call :func:`check_shape` first)."""
    out: list[Screened] = []
    where = f"feed {feed.name!r} page {page.page_no}"
    pii = {c.name: c.pii for c in feed.columns}  # values quoted in reasons are masked by their pii kind
    for i, rec in enumerate(page.items):
        s = Screened(i, _s(rec.get(feed.key)), rec.get("version") if isinstance(rec.get("version"), int) else None,
                     rec, record_sha256(rec))
        failure = None
        for rule in feed.rules:
            if rule.kind == "not_null" and (f := _rule_failure(rule, rec, pii)):
                failure = (rule.name, *f)
                break
        values: dict[str, Any] = {}
        if failure is None:
            for col in feed.columns:
                v = rec.get(col.name)
                if v is None:
                    values[col.name] = None
                    continue
                try:
                    values[col.name] = typed_value(col.pg_type, v)
                except ValueError as e:
                    failure = (f"{feed.name}_type_{col.name}", col.name,
                               f"{e}, got {type(v).__name__} {mask(str(v), col.pii)!r}")
                    break
        if failure is None:
            for rule in feed.rules:
                if rule.kind == "regex" and rule.severity == "critical" and (f := _rule_failure(rule, rec, pii)):
                    failure = (rule.name, *f)
                    break
        if failure:
            s.rule, s.field = failure[0], failure[1]
            s.reason = f"{where} record {i} ({feed.key}={s.key!r}, version {s.version}): field {failure[1]!r}: " \
                       f"{failure[2]} [rule {failure[0]}]"
        else:
            s.values = values
        out.append(s)
    _check_usccs(conn, feed, out, where)
    return out


def _s(v: Any) -> str | None:
    return None if v is None else str(v)


def _check_usccs(conn: psycopg.Connection, feed: Feed, screened: list[Screened], where: str) -> None:
    """Apply the ``uscc`` rules in PostgreSQL (``ops.uscc_valid``, the same check as the submissions)."""
    checks = []  # (screened, rule, column, value)
    for rule in feed.rules:
        if rule.kind != "uscc":
            continue
        for s in screened:
            if s.accepted and _applies(rule, s.record):
                for col in rule.columns:
                    v = s.record.get(col)
                    if isinstance(v, str):
                        checks.append((s, rule, col, v))
    if not checks:
        return
    valid = dict(conn.execute("select v, ops.uscc_valid(v) from unnest(%s::text[]) as v",
                              (sorted({c[3] for c in checks}),)).fetchall())
    for s, rule, col, v in checks:
        if s.accepted and not valid[v]:
            s.values, s.rule, s.field = None, rule.name, col
            s.reason = (f"{where} record {s.index} ({feed.key}={s.key!r}, version {s.version}): field {col!r}: "
                        f"{v!r} is not a valid USCC ({rule.en}) [rule {rule.name}]")
