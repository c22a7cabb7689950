"""Masking of personal identifiers in anything that leaves the loader: quality results, the feedback
report to the institution, logs.

Only the loader role ever sees raw personal identifiers (see /work/shared/ARCHITECTURE.md, Roles).
Values quoted as examples of a failed rule are masked by the registry's ``pii`` kind of their column:

=============  ===========================  =========================
kind           kept                         example
=============  ===========================  =========================
resident_id    first 6 (region), last 1     ``110105***********X``
phone          first 3, last 2              ``138******78``
account        last 4                       ``************3456``
name           first character              ``张**``
other kinds    nothing                      ``*******``
=============  ===========================  =========================

Masks keep the length (so a reader can still tell "too short" from "wrong check character") and are
idempotent (masking a masked value changes nothing). A value too short to keep anything without
revealing most of it is masked entirely. Non-personal values are returned unchanged, cut to
:data:`MAX_EXAMPLE_CHARS` characters.

:func:`mask_sql` renders the same mask as a SQL expression, so a query can mask in the database and
the raw identifier never reaches Python at all (the quality gate does this for its own queries).
"""

from __future__ import annotations

MASK_CHAR = "*"
MAX_EXAMPLE_CHARS = 64

#: pii kind -> (characters kept at the start, characters kept at the end)
KEEP: dict[str, tuple[int, int]] = {
    "resident_id": (6, 1),
    "phone": (3, 2),
    "account": (0, 4),
    "name": (1, 0),
}


def mask(value: str | None, pii: str | None) -> str | None:
    """Mask ``value`` according to the registry's ``pii`` kind of its column.

    ``None`` stays ``None``. ``pii=None`` means "not a personal identifier": the value is returned as
    is, truncated to 64 characters (the last three replaced by ``...`` when cut). An unknown kind is
    masked completely rather than leaked.
    """
    if value is None:
        return None
    value = str(value)
    if not pii:
        if len(value) > MAX_EXAMPLE_CHARS:
            return value[: MAX_EXAMPLE_CHARS - 3] + "..."
        return value
    first, last = KEEP.get(pii, (0, 0))
    n = len(value)
    if n <= first + last or (first, last) == (0, 0):
        return MASK_CHAR * n
    return value[:first] + MASK_CHAR * (n - first - last) + (value[n - last:] if last else "")


def mask_sql(expr: str, pii: str | None) -> str:
    """A PostgreSQL expression computing :func:`mask` of the text expression ``expr``.

    ``expr`` is inserted verbatim (pass a quoted identifier). Non-personal values are returned as they
    are (truncation happens in Python, where the example is built). NULL stays NULL.
    """
    if not pii:
        return expr
    first, last = KEEP.get(pii, (0, 0))
    stars = f"repeat('{MASK_CHAR}', length({expr}))"
    if (first, last) == (0, 0):
        return stars
    kept = " || ".join(
        part
        for part in (
            f"left({expr}, {first})" if first else "",
            f"repeat('{MASK_CHAR}', length({expr}) - {first + last})",
            f"right({expr}, {last})" if last else "",
        )
        if part
    )
    return f"(case when length({expr}) > {first + last} then {kept} else {stars} end)"
