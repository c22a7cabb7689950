"""Fixed-shape regular expressions as plain SQL (issue #17 item 3: the typed table's single pass).

PostgreSQL's regex engine costs about 2-4 microseconds a value even for an anchored pattern such as
``^[0-9]{19}$``: in the gate's typed table (include/ingest/typed.py) the date, timestamp and account
number format checks were most of the time of the ``CREATE TABLE AS`` that casts a million rows.
Patterns of a fixed shape, a sequence of ``[0-9]`` runs (``[0-9]{n}``), literal characters and classes
of at most two literal characters (``[T ]``), anchored at the start and optionally at the end, are
decided here by ``LIKE`` with ``_`` as its only wildcard (the length and every literal position) and
``ltrim(..., '0123456789')`` over the digit positions (each one an ASCII digit), which PostgreSQL
evaluates several times faster.

:func:`shape_sql` returns an expression equal to ``expr ~ pattern`` for every text value, NULL on
NULL as the regex gives, or None when the pattern is not of that form (the caller keeps the regex);
tests/test_shapes.py compares both on the same values in PostgreSQL.
"""

from __future__ import annotations

import re

DIGITS = "0123456789"
#: literal characters a shape may hold: never a LIKE wildcard or escape, never a quote
_LITERAL = re.compile(r"[A-Za-z0-9 :/.,-]")
_DIGIT_RUN = re.compile(r"\[0-9\](?:\{([0-9]{1,3})\})?")
_CLASS = re.compile(r"\[([A-Za-z :/.,-]{1,2})\]")
#: at most this many LIKE alternatives (the product of the classes' sizes)
MAX_ALTERNATIVES = 4


def _parse(pattern: str) -> tuple[list[tuple[str, object]], bool] | None:
    """(tokens, anchored at the end) or None. Tokens: ("digits", n), ("literal", char), ("class", chars)."""
    if not pattern.startswith("^"):
        return None
    body, end = pattern[1:], False
    if body.endswith("$") and not body.endswith("\\$"):
        body, end = body[:-1], True
    tokens: list[tuple[str, object]] = []
    i = 0
    while i < len(body):
        m = _DIGIT_RUN.match(body, i)
        if m:
            n = int(m.group(1) or 1)
            if n < 1:
                return None
            tokens.append(("digits", n))
            i = m.end()
            continue
        m = _CLASS.match(body, i)
        if m:
            chars = m.group(1)
            if len(set(chars)) != len(chars):
                return None
            tokens.append(("class", chars) if len(chars) > 1 else ("literal", chars))
            i = m.end()
            continue
        if body[i] == "\\" and i + 1 < len(body) and body[i + 1] in ".-/:,":
            tokens.append(("literal", body[i + 1]))
            i += 2
            continue
        if _LITERAL.fullmatch(body[i]) and body[i] not in ".":  # an unescaped '.' is any character
            tokens.append(("literal", body[i]))
            i += 1
            continue
        return None
    return (tokens, end) if tokens else None


def shape_sql(expr: str, pattern: str) -> str | None:
    """SQL equal to ``expr ~ pattern`` (NULL on NULL) without the regex engine, or None (see the module)."""
    parsed = _parse(pattern)
    if parsed is None:
        return None
    tokens, end = parsed
    likes = [""]
    digit_runs: list[tuple[int, int]] = []  # (1-based start, length)
    pos = 1
    for kind, value in tokens:
        if kind == "digits":
            n = int(value)  # type: ignore[arg-type]
            if digit_runs and digit_runs[-1][0] + digit_runs[-1][1] == pos:
                start, length = digit_runs.pop()
                digit_runs.append((start, length + n))
            else:
                digit_runs.append((pos, n))
            likes = [s + "_" * n for s in likes]
            pos += n
        elif kind == "literal":
            likes = [s + str(value) for s in likes]
            pos += 1
        else:
            likes = [s + c for s in likes for c in str(value)]
            pos += 1
        if len(likes) > MAX_ALTERNATIVES:
            return None
    # a prefix (no '$'): its first pos - 1 characters, fewer if shorter (no '%': drivers read it as a placeholder)
    head = expr if end else f"left({expr}, {pos - 1})"
    like = " or ".join(f"{head} like '{s}'" for s in likes)
    like = f"({like})" if len(likes) > 1 else like
    if not digit_runs:
        return f"({like})"
    if end and digit_runs == [(1, pos - 1)]:
        digits = expr  # the whole value is one run of digits
    else:
        digits = " || ".join(f"substr({expr}, {start}, {length})" for start, length in digit_runs)
    return f"({like} and ltrim({digits}, '{DIGITS}') = '')"
