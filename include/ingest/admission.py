"""Admitting institutions to report (issue #14): ``python -m include.ingest.admission``.

A submission is loaded only for a known institution (migration 050 says who is known). The regulator
admits a new institution before its first submission:

    python -m include.ingest.admission admit B0042 --note "licence granted 2025-06-01"
    python -m include.ingest.admission admit CASE42B0001 --bureau ZJ --note "case 42: a bank's export"
    python -m include.ingest.admission list

``--bureau`` names the bureau that supervises an institution with no institution record of its own (an
imported transfer export): its accounts' flow alerts then go to that bureau's queue and its rows to that
bureau's BI login. Once the institution's own record is accepted, the record's bureau wins. Admitting a
code again with ``--bureau`` changes its bureau.

``--from-landing DIR`` admits every institution folder of a landing zone: for a simulated world
only, never for a real landing zone (it would admit whoever wrote a folder).
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

CODE_RE = re.compile(r"^[A-Z0-9]{2,16}$")
#: the bureaus the warehouse knows (the dbt seed every mart and BI login is keyed on)
BUREAU_SEED = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "bureaus.csv"


def bureau_codes() -> set[str]:
    with BUREAU_SEED.open(encoding="utf-8") as f:
        return {r["bureau_code"] for r in csv.DictReader(f)}


def admit(conn, codes: list[str], note: str | None = None, bureau: str | None = None) -> int:
    """Add ``codes`` to ops.institution_register; return how many were new. With ``bureau``, the codes (new
    or already admitted) are supervised by that bureau. Raises ValueError on a bad code or an unknown bureau."""
    bad = [c for c in codes if not CODE_RE.match(c)]
    if bad:
        raise ValueError(f"not an institution code: {bad[0]!r} (upper-case letters and digits, 2 to 16)")
    if bureau is not None and bureau not in (known := bureau_codes()):
        raise ValueError(f"--bureau {bureau!r} is not a bureau of the warehouse ({', '.join(sorted(known))})")
    codes = sorted(set(codes))
    cur = conn.execute("insert into ops.institution_register (institution_code, note, bureau_code) "
                       "select unnest(%s::text[]), %s, %s on conflict do nothing", (codes, note, bureau))
    new = cur.rowcount
    if bureau is not None:
        conn.execute("update ops.institution_register set bureau_code = %s "
                     "where institution_code = any(%s) and bureau_code is distinct from %s", (bureau, codes, bureau))
    return new


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
    a.add_argument("--bureau", help="bureau supervising them while they have no institution record (e.g. ZJ)")
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
                for code, at, bureau, note in conn.execute(
                        "select institution_code, admitted_at, coalesce(bureau_code, '-'), coalesce(note, '') "
                        "from ops.institution_register order by 1"):
                    print(f"{code}\t{at:%Y-%m-%d %H:%M}\t{bureau}\t{note}")
                return 0
            n = admit(conn, codes, args.note, args.bureau)
    except (ValueError, psycopg.Error) as e:
        print(f"error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    where = f", supervised by {args.bureau}" if args.bureau else ""
    print(f"admitted {n} new institution(s) of {len(set(codes))}{where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
