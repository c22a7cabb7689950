"""Fixed-shape regexes as LIKE + ltrim (include/registry/shapes.py): on the same values, in PostgreSQL, the
shape expression gives exactly what the regex gives (true, false, NULL), for every pattern the gate
rewrites (the date and timestamp checks of the typed table, every registry regex on a personal
identifier it accepts) and a few more; patterns it cannot decide exactly are left to the regex."""

from __future__ import annotations

import itertools

import pytest

from include.ingest.typed import ISO_DATE_RE, ISO_TIMESTAMP_PREFIX_RE, valid_sql
from include.registry.datasets import DATASETS
from include.registry.expectations import row_flags
from include.registry.shapes import shape_sql

pytestmark = pytest.mark.filterwarnings("ignore")

REGISTRY = sorted({r.params["pattern"] for ds in DATASETS.values() for r in ds.rules
                   if r.kind == "regex" and r.params.get("pattern")})
PATTERNS = [ISO_DATE_RE, ISO_TIMESTAMP_PREFIX_RE, *REGISTRY, r"^[0-9]$", r"^A[0-9]{2}-[xy]$", r"^ab\.c",
            r"^[0-9]{3}[0-9]{2}:$"]

BASE = [
    None, "", " ", "0", "9", "a", "-", "\n", "2024-03-31", "2024-3-31", "2024-03-3", "2024-03-311", "2024/03/31",
    "2024-03-31 ", " 2024-03-31", "2024-03-31\n", "２０２４-03-31", "٢٠٢٤-03-31", "2024--3-31", "202a-03-31",
    "2024-03-31T10:00", "2024-03-31 10:00:00+08", "2024-03-31T10:0", "2024-03-31t10:00", "2024-03-31X10:00",
    "2024-03-31T10:00:00+08:00", "2024-03-31  10:00", "0" * 19, "1" * 19, "0" * 18, "0" * 20, "0" * 18 + "a",
    "0" * 18 + "-", "0" * 18 + "٣", "0" * 18 + "\n", "ACC-8", "12345", "123456", "12345a", "110105",
    "A12-x", "A12-y", "A12-z", "a12-x", "A1-x", "A123-x", "ab.c", "abxc", "ab.cd", "5", "55", "12345:",
    "1234:", "13800138000", "1380013800", "12800138000", "%", "_", "0_", "2024_03_31", "____-__-__",
    "20240331", "2024-03-31%", "ab%c",
]


def _values() -> list[str | None]:
    """The base values, and every base value with one character replaced by a digit, a letter, '-', ' '."""
    out = list(BASE)
    for v, c in itertools.product([b for b in BASE if b], "0a- _%"):
        out += [v[:i] + c + v[i + 1:] for i in range(len(v))]
    return list(dict.fromkeys(out))


def test_every_rewritten_pattern_is_decided_like_the_regex(warehouse):
    values = _values()
    with warehouse.connect("loader", autocommit=True) as conn:
        checked = 0
        for pattern in PATTERNS:
            shape = shape_sql("v", pattern)
            if shape is None:
                continue
            rows = conn.execute(
                f"select v, v ~ %(p)s, {shape} from unnest(%(v)s::text[]) as u(v)", {"p": pattern, "v": values}
            ).fetchall()
            wrong = [(v, rx, sh) for v, rx, sh in rows if rx is not sh]
            assert not wrong, (pattern, wrong[:5])
            checked += 1
        assert checked >= 6  # the date, the timestamp, the registry's digit patterns and the extra ones


def test_the_gate_rewrites_its_date_and_timestamp_checks_and_the_account_format():
    for sql in (valid_sql("x", "date"), valid_sql("x", "timestamptz")):
        assert "~" not in sql and " like " in sql
    flags = dict(row_flags(DATASETS["transaction"]))
    assert all("~" not in pred for pred in flags.values()) and len(flags) == 2


def test_patterns_it_cannot_decide_exactly_keep_the_regex():
    for pattern in (r"^1[3-9][0-9]{9}$", r"^[A-Z]{2}$", r"^ab.c$", r"[0-9]{3}$", r"^[0-9]+$", r"^[0-9]{2,3}$",
                    r"^a|b$", r"^(ab)$", r"^a'b$", r"^a%b$", r"^a_b$", r"^[0-9]{0}$"):
        assert shape_sql("v", pattern) is None, pattern
