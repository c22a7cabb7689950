"""Everything generated from the dataset registry, written by one command (``supervision registry
generate``) and checked by one test (tests/test_registry_generated.py: ``--check`` finds no drift):

* ``dbt_project/models/staging/submissions/_submissions__sources.yml`` (:mod:`include.registry.dbt_sources`);
* the GX file project ``expectations/`` (:mod:`include.registry.gx_project`);
* the dataset reference in ``docs/landing-contract.md`` (:mod:`include.registry.docs`).

The raw and quarantine tables' DDL (:mod:`include.registry.ddl`) is applied by the warehouse
bootstrap, not written to files.
"""

from __future__ import annotations

import filecmp
import tempfile
from pathlib import Path

from include.config import GX_ROOT


def generate(check: bool = False) -> list[str]:
    """Write every generated file; with ``check``, write nothing and return the files that would
    change (empty: no drift)."""
    from include.registry import dbt_sources, docs, gx_project

    drift: list[str] = []
    doc = docs.README.read_text(encoding="utf-8")
    if docs.current_block(doc) != docs.render():
        drift.append(str(docs.README))
        if not check:
            docs.write()
    text = dbt_sources.render()
    current = dbt_sources.SOURCES_FILE.read_text(encoding="utf-8") if dbt_sources.SOURCES_FILE.exists() else None
    if current != text:
        drift.append(str(dbt_sources.SOURCES_FILE))
        if not check:
            dbt_sources.write()
    if check:
        with tempfile.TemporaryDirectory(prefix="sv-gx-") as tmp:
            fresh = Path(tmp) / "gx"
            gx_project.write_project(fresh)
            drift += _tree_diff(fresh, GX_ROOT)
    else:
        before = _snapshot(GX_ROOT)
        gx_project.write_project(GX_ROOT)
        drift += [p for p, digest in _snapshot(GX_ROOT).items() if before.get(p) != digest]
    return drift


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*.json")) + [root / "great_expectations.yml"]
            if p.is_file() and "uncommitted" not in p.parts}


def _tree_diff(fresh: Path, committed: Path) -> list[str]:
    """Committed files that differ from, or are missing in, or are extra to a fresh generation."""
    out = []
    cmp = filecmp.dircmp(fresh, committed, ignore=["uncommitted", ".ge_store_backend_id"])
    stack = [cmp]
    while stack:
        c = stack.pop()
        out += [str(Path(c.right) / n) for n in c.diff_files + c.left_only + c.right_only]
        stack += list(c.subdirs.values())
    return sorted(out)


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="supervision registry",
                                 description="write every file generated from the dataset registry")
    ap.add_argument("action", choices=["generate"], help="generate: write (or with --check, compare) them all")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if any generated file drifted")
    args = ap.parse_args(argv)
    changed = generate(check=args.check)
    if args.check:
        print("registry outputs up to date" if not changed else "drifted from the registry:\n  " + "\n  ".join(changed))
        return 1 if changed else 0
    print(f"wrote the registry outputs; changed: {len(changed)} file(s)")
    for p in changed:
        print(f"  {p}")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:] or ["generate"]))
