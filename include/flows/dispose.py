"""Record a supervisor's decision on a flow alert (#12 item 6): ``supervision flows dispose ALERT_ID
confirmed|false_positive|under_review [--note TEXT]``.

The decision goes through ``ops.record_disposition`` (migration 025), which stamps who decided
(the session user) and when; the latest decision per alert is ``ops.alert_disposition_current``. The
alert must exist in ``marts_flows.flow_alerts`` as the connecting user sees it (row-level security by
bureau), and its typology, account and period are recorded with the decision. ``--url`` connects as a
supervisor's own login; without it the command connects as the pipeline's ``transformer`` role (an
operator recording a decision on a supervisor's behalf: say whose in ``--note``).
"""

from __future__ import annotations

import argparse
import sys

DISPOSITIONS = ("confirmed", "false_positive", "under_review")


def record(url: str, alert_id: str, disposition: str, note: str | None = None) -> int:
    """Store the decision; returns its disposition_id. ``LookupError`` when the alert is unknown."""
    import psycopg

    from include.warehouse.connection import libpq_url

    with psycopg.connect(libpq_url(url)) as conn:
        alert = conn.execute("select top_typology, account_no, period from marts_flows.flow_alerts "
                             "where alert_id = %s", (alert_id,)).fetchone()
        if alert is None:
            raise LookupError(alert_id)
        (new_id,) = conn.execute(
            "select ops.record_disposition('flow_alert', %s, %s, %s, %s, %s, %s)",
            (alert_id, disposition, note, f"flow_typology:{alert[0]}", alert[1], alert[2])).fetchone()
    return int(new_id)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="supervision flows", description="Supervisors' work on flow alerts.")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    d = sub.add_parser("dispose", help="record a decision on a flow alert", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("alert_id", help="flow_alerts.alert_id (institution:account:period)")
    d.add_argument("disposition", choices=DISPOSITIONS)
    d.add_argument("--note", help="free text, at most 2,000 characters")
    d.add_argument("--url", help="connect as this login (default: the transformer role of $SUPERVISION_HOME)")
    args = ap.parse_args(argv)
    if args.note is not None and len(args.note) > 2000:
        print("error: --note is longer than 2,000 characters", file=sys.stderr)
        return 2
    try:
        import psycopg

        from include.warehouse.connection import role_url

        url = args.url or role_url("transformer")
        new_id = record(url, args.alert_id, args.disposition, args.note)
    except LookupError:
        print(f"error: no flow alert {args.alert_id!r} (marts_flows.flow_alerts, as this login sees it)",
              file=sys.stderr)
        return 2
    except (psycopg.Error, RuntimeError) as e:
        print(f"error: could not record the disposition: {str(e).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    print(f"disposition {new_id}: {args.alert_id} {args.disposition}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
