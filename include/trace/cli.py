"""``supervision trace``: show where a warning's numbers came from, or a portrait as it stood on a date.

    supervision trace WARNING_ID                   # a warnings.warning_id or a flow_alerts.alert_id
    supervision trace --as-of 2025-06-30 B0004     # the institution as known at the end of that day

Also ``python -m include.trace.cli ...``. Errors are one line, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def print_chain(out: dict, w=print) -> None:
    warning, alert, ind = out["warning"], out["alert"], out["indicator"]
    if warning:
        w(f"warning {warning['warning_id']}  rule {warning['rule_code']} ({warning.get('rule_name_en') or '-'})")
        w(f"  {warning['entity_type']} {warning['entity_id']} {warning['entity_name'] or ''}  "
          f"bureau {warning['bureau_code']}  period {warning['period']}  severity {warning['severity']}")
        w(f"  {warning['description_zh']}")
        w(f"  {warning['description_en']}")
    if ind:
        w(f"  <- indicator {ind['indicator_code']} = {_fmt(float(ind['indicator_value']))} "
          f"(threshold {ind['comparator']} {ind['threshold_value']}, breach {ind['is_breach']}"
          + (f", re-derived from loan detail {_fmt(float(ind['detail_value']))}" if ind['detail_value'] is not None
             else "") + ")")
        w(f"     marts_prudential.prudential_indicators, source batches {list(ind['source_batch_ids'] or [])}"
          + (f", detail batch {ind['detail_batch_id']}" if ind['detail_batch_id'] else ""))
    if alert:
        w(f"  <- flow alert {alert['alert_id']}: account {alert['account_no']} at {alert['institution_code']}, "
          f"{alert['payers']} payers, inflow {alert['inflow_amount']}, window {alert['window_months']} months")
        w(f"     example transactions in {alert['example_inflow_txn_ids']} out {alert['example_outflow_txn_ids']}; "
          f"{out.get('batches_in_window', 0)} transaction file(s) in the window, those holding the examples:")
    for b in out["batches"]:
        w(f"  <- batch {b.batch_id} [{b.status}] dataset {b.dataset}, file {b.file_name}")
        w(f"     submission {b.submission_id} (institution {b.institution_code}, period {b.period}, "
          f"version {b.version}, received {b.received_at})")
        w(f"     archived {b.archive_path}")
        w(f"     sha256 {b.file_sha256}: {b.archive_check}")
        w(f"     lines: {b.lines_note}")
        for line, values in b.lines:
            w(f"       line {line}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in values.items()))
    if out.get("note"):
        w(f"  ({out['note']})")


def print_as_of(institution: str, as_of: date | datetime, p: dict, w=print) -> None:
    inst = p["institution"]
    w(f"{institution} as known at the end of {as_of} ({p['by']})"
      + (f": {inst['name']} ({inst['type']}, bureau {inst['bureau']}, record of {inst['as_of_record']})"
         if inst else ": no accepted institution record by then"))
    if p["rating"]:
        w(f"  supervisory rating {p['rating'][1]} (quarter {p['rating'][0]})")
    codes = sorted({c for q in p["quarters"].values() for c, v in q.items() if v is not None})
    if not codes:
        w("  no accepted prudential report by then")
    else:
        w("  quarter     " + " ".join(f"{c:>16}" for c in codes))
        for period, q in p["quarters"].items():
            w(f"  {period}  " + " ".join(f"{_fmt(q[c]) if q[c] is not None else '-':>16}" for c in codes))
    w(f"  versions used (dataset, period, version, batch, submission, {p['by']} at):")
    for d, per, v, b, s, at in p["versions"]:
        w(f"    {d:<18} {per} v{v} batch {b} {s} {at:%Y-%m-%d %H:%M:%S%z}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="supervision trace", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ident", metavar="WARNING_ID|INSTITUTION",
                    help="a warning id or flow alert id; with --as-of, an institution code")
    ap.add_argument("--as-of", metavar="YYYY-MM-DD",
                    help="show the institution's portrait as it stood at the end of that day (or at an ISO timestamp)")
    ap.add_argument("--by", choices=("accepted", "submitted"), default="accepted",
                    help="with --as-of: date versions by the warehouse's acceptance (default) or by the "
                         "submission time in the manifest (a replayed history)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = ap.parse_args(argv)
    as_of = None
    if args.as_of:
        try:
            as_of = date.fromisoformat(args.as_of) if len(args.as_of) == 10 else datetime.fromisoformat(args.as_of)
        except ValueError:
            print(f"error: --as-of {args.as_of!r}: not a date (YYYY-MM-DD) or timestamp (ISO 8601)", file=sys.stderr)
            return 2
    import psycopg

    from include.trace.asof import portrait_as_of
    from include.trace.chain import TraceError, trace_warning
    from include.warehouse.connection import libpq_url, role_url

    try:
        with psycopg.connect(libpq_url(role_url("transformer"))) as conn:
            if as_of is not None:
                p = portrait_as_of(conn, args.ident, as_of, args.by)
                if args.json:
                    print(json.dumps(p, default=str, ensure_ascii=False, indent=2))
                else:
                    print_as_of(args.ident, as_of, p)
                return 0
            out = trace_warning(conn, args.ident)
    except TraceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except psycopg.Error as e:
        print(f"error: warehouse: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({**out, "batches": [vars(b) for b in out["batches"]]}, default=str, ensure_ascii=False,
                         indent=2))
    else:
        print_chain(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
