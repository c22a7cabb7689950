"""The feature descriptions, read from the one place they are written: the dbt docs blocks of
``dbt_project/models/marts/features/_features__docs.md`` (``{% docs features__<column> %}``), which the
feature marts' column documentation uses too. A block's first line names the column, ``中文 / English``
(a model feature's short name, used in the reasons given with a score); the lines after it, if any, say
what it measures.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

DOCS_FILE = Path(__file__).resolve().parents[1] / "dbt_project" / "models" / "marts" / "features" / "_features__docs.md"
PREFIX = "features__"

_BLOCK = re.compile(r"{%-?\s*docs\s+(\w+)\s*-?%}(.*?){%-?\s*enddocs\s*-?%}", re.S)
# the language separator: the first slash after a Chinese character or a space, followed by a space
_SEPARATOR = re.compile(r"(?<=[^\x00-\x7f]|\s)/\s")


@cache
def descriptions(path: Path = DOCS_FILE) -> dict[str, str]:
    """column -> its whole docs block (stripped), for every ``features__`` block of ``path``."""
    return {name.removeprefix(PREFIX): body.strip()
            for name, body in _BLOCK.findall(path.read_text(encoding="utf-8")) if name.startswith(PREFIX)}


def short_name(description: str) -> tuple[str, str]:
    """(zh, en) of a description's first line, ``中文 / English``."""
    first = description.strip().splitlines()[0] if description.strip() else ""
    parts = [p.strip() for p in _SEPARATOR.split(first, maxsplit=1)]
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"{DOCS_FILE.name}: first line {first!r} is not '中文 / English'")
    return parts[0], parts[1]


def feature_texts(features: tuple[str, ...] | list[str], path: Path = DOCS_FILE) -> dict[str, tuple[str, str]]:
    """feature -> (zh, en) short names, in the order given; every feature must have a docs block."""
    docs = descriptions(path)
    missing = [f for f in features if f not in docs]
    if missing:
        raise KeyError(f"{path.name}: no docs block {PREFIX}<column> for {', '.join(missing)}")
    return {f: short_name(docs[f]) for f in features}
