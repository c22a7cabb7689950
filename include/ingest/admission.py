"""Admitting institutions to report (issue #14): ``python -m include.ingest.admission``.

A submission is loaded only for a known institution (migration 050 says who is known). The regulator
admits a new institution before its first submission:

    python -m include.ingest.admission admit B0042 --note "licence granted 2025-06-01"
    python -m include.ingest.admission list

``--from-landing DIR`` admits every institution folder of a landing zone: for a simulated world
only, never for a real landing zone (it would admit whoever wrote a folder).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

CODE_RE = re.compile(r"^[A-Z0-9]{2,16}$")


def admit(conn, codes: list[str], note: str | None = None) -> int:
    """Add ``codes`` to ops.institution_register; return how many were new. Raises ValueError on a bad code."""
    bad = [c for c in codes if not CODE_RE.match(c)]
    if bad:
        raise ValueError(f"not an institution code: {bad[0]!r} (upper-case letters and digits, 2 to 16)")
    cur = conn.execute("insert into ops.institution_register (institution_code, note) "
                       "select unnest(%s::text[]), %s on conflict do nothing", (sorted(set(codes)), note))
    return cur.rowcount


def require_admitted(url: str, codes: set[str]) -> None:
    """ValueError (one line) naming the codes the loader would reject as unknown (rule institution_known)."""
    from types import SimpleNamespace

    import psycopg

    from include.ingest.screen import unknown_institutions
    from include.warehouse.connection import libpq_url

    with psycopg.connect(libpq_url(url)) as conn:
        unknown = unknown_institutions(conn, [SimpleNamespace(institution_code=c, files=[]) for c in sorted(codes)])
    if unknown:
        raise ValueError(f"institution(s) {', '.join(sorted(unknown))} never delivered an institution record and "
                         f"are not admitted: `supervision institutions admit {' '.join(sorted(unknown))}` first")


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="supervision institutions", description="institutions admitted to report")
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("admit", help="admit institutions (before their first submission)")
    a.add_argument("codes", nargs="*")
    a.add_argument("--note")
    a.add_argument("--from-landing", type=Path, help="admit every institution folder of DIR (simulated worlds only)")
    sub.add_parser("list", help="list the admitted institutions")
    args = ap.parse_args(argv)

    import psycopg

    from include.warehouse.connection import libpq_url, role_url

    codes = list(getattr(args, "codes", []) or [])
    if getattr(args, "from_landing", None):
        codes += [p.name for p in sorted(args.from_landing.iterdir()) if p.is_dir() and not p.is_symlink()
                  and not p.name.startswith(".")]
    try:
        with psycopg.connect(libpq_url(role_url("loader")), autocommit=True) as conn:
            if args.cmd == "list":
                for code, at, note in conn.execute("select institution_code, admitted_at, coalesce(note, '') "
                                                   "from ops.institution_register order by 1"):
                    print(f"{code}\t{at:%Y-%m-%d %H:%M}\t{note}")
                return 0
            n = admit(conn, codes, args.note)
    except (ValueError, psycopg.Error) as e:
        print(f"error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    print(f"admitted {n} new institution(s) of {len(set(codes))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
