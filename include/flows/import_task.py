"""What the ``import_transactions`` DAG calls: the same importer as ``supervision import transactions``,
for a file an investigator put in ``$SUPERVISION_HOME/imports/``, then the ingest of exactly the
submissions it wrote. Kept free of Airflow imports so it is tested directly.

The DAG takes a file name, not any path: the file must resolve (symlinks followed) to a regular file
inside the imports folder and be at most ``SUPERVISION_IMPORT_MAX_BYTES`` (default 1 GiB). Every refusal
is one line (BadInput).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from include.config import StatePaths, paths
from include.flows.importer import BadInput, plan_import, write_submissions

DEFAULT_MAX_BYTES = 1 << 30
MAX_BYTES_ENV = "SUPERVISION_IMPORT_MAX_BYTES"


def max_bytes() -> int:
    text = os.environ.get(MAX_BYTES_ENV, "")
    try:
        return int(text) if text else DEFAULT_MAX_BYTES
    except ValueError:
        raise BadInput(f"{MAX_BYTES_ENV}: not a number of bytes: {text!r}") from None


def resolve_import_file(name: str, imports: Path, limit: int | None = None) -> Path:
    """``name`` (relative to ``imports``, or an absolute path inside it) as a checked path; BadInput if it
    leaves the folder, is not a regular file, or is larger than ``limit`` bytes."""
    name = (name or "").strip()
    if not name:
        raise BadInput(f"file: no file given (the name of a CSV in {imports})")
    if "\x00" in name:
        raise BadInput(f"file: {name!r} is not a file name")
    root = imports.resolve()
    candidate = Path(name) if Path(name).is_absolute() else imports / name
    try:
        real = candidate.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError):
        raise BadInput(f"file: {name}: no such file in {imports}") from None
    except (OSError, RuntimeError) as e:  # a symlink loop, a permission error
        raise BadInput(f"file: {name}: cannot be read: {e}") from None
    if not real.is_relative_to(root) or real == root:
        raise BadInput(f"file: {name}: outside the imports folder {imports} (put the file there)")
    if not real.is_file():
        raise BadInput(f"file: {name}: not a regular file")
    limit = max_bytes() if limit is None else limit
    size = real.stat().st_size
    if size > limit:
        raise BadInput(f"file: {name}: {size:,} bytes, more than the limit of {limit:,} ({MAX_BYTES_ENV})")
    return real


def run_import(file: str, institution: str | None = None, dry_run: bool = False, replace: bool = False,
               check_codes: Callable[[set[str]], None] | None = None, state: StatePaths | None = None) -> dict:
    """Check the file (and its institution codes with ``check_codes``, which raises ValueError with one
    line, e.g. include.ingest.admission.require_admitted); unless ``dry_run``, write its submissions into
    the landing zone. Returns a small summary (for XCom): transfers, institutions, months and the manifest
    paths written."""
    state = state or paths()
    path = resolve_import_file(file, state.imports)
    plan = plan_import(path, state.landing, institution or None, replace=replace)
    codes = {inst for inst, _ in plan.transactions}
    summary = {"file": str(path), "dry_run": bool(dry_run),
               "transfers": sum(len(rows) for rows in plan.transactions.values()) // 2,
               "accounts": len(plan.holders), "institutions": sorted(codes),
               "months": sorted({p.isoformat() for _, p in plan.transactions}), "manifests": []}
    if check_codes is not None:
        check_codes(codes)
    if dry_run:
        return summary
    written = write_submissions(plan, state.landing)
    summary["manifests"] = [str(m) for m in written]
    return summary
