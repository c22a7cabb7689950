"""The demo's closing summary, told as a supervisor would act on it (``supervision summary --story``).

What came in and what the quality gate did with it (received / accepted / quarantined / rejected,
the rules that stopped most files, one feedback file to open); institutions by early-warning level
with the three highest-risk red ones (orange when none is red) and their reasons in words; the
suspicious-flow queue; where to click. Read-only queries as the admin role; every section says so
when its tables are not built yet.
"""

from __future__ import annotations

import json
from pathlib import Path

from include.cli.console import clip

LEVEL_ORDER = ("red", "orange", "yellow", "blue", "none")


def gate(conn) -> dict:
    """Submission files by final status, the rules that failed most on stopped files."""
    by_status = dict(conn.execute(
        "select status, count(*) from ops.batch where status <> 'superseded' group by status").fetchall())
    top_rules = conn.execute(
        """select r.rule_name, r.severity, count(distinct r.batch_id) as files, sum(r.unexpected_count) as rows
           from ops.dq_result r join ops.batch b using (batch_id)
           where not r.success and b.status in ('quarantined', 'rejected')
           group by 1, 2 order by files desc, rows desc nulls last limit 3""").fetchall()
    loader = conn.execute(
        r"""select coalesce(substring(detail->>'reason' from '\(rule: ([a-z0-9_]+)\)'), 'loader check') as rule,
                  count(*)
           from ops.batch where status = 'rejected' and not exists
                (select 1 from ops.dq_result r where r.batch_id = batch.batch_id and not r.success)
           group by 1 order by 2 desc limit 3""").fetchall()
    return {"files_received": sum(by_status.values()), "by_status": by_status,
            "top_failed_rules": [{"rule": r, "severity": s, "files": f, "rows": n} for r, s, f, n in top_rules],
            "rejected_by_loader": [{"rule": r, "files": n} for r, n in loader],
            "submissions": conn.execute("select count(*) from ops.submission").fetchone()[0],
            "unreadable_manifests": conn.execute("select count(*) from ops.bad_manifest").fetchone()[0]}


def feedback_example(outbox: Path, conn) -> str | None:
    """The feedback file of a submission that had a file stopped (else any feedback file)."""
    row = conn.execute(
        """select s.institution_code, s.submission_id from ops.batch b join ops.submission s using (submission_id)
           where b.status in ('quarantined', 'rejected') order by b.batch_id limit 1""").fetchone()
    if row:
        f = outbox / row[0] / row[1] / "feedback.md"
        if f.exists():
            return str(f)
    any_ = next(iter(sorted(outbox.glob("*/*/feedback.md"))), None) if outbox.exists() else None
    return str(any_) if any_ else None


def _latest(entity_type: str) -> str:
    """Each entity's latest score of ``entity_type`` (a CTE named ``latest``)."""
    return f"""with latest as (
        select distinct on (entity_id) entity_id, period, probability, warning_level, reasons, overrides
        from ml.risk_scores where entity_type = '{entity_type}'
        order by entity_id, period desc, scored_at desc)"""


def _levels_and_status(conn, entity_type: str) -> tuple[dict, tuple | None]:
    """Entities of ``entity_type`` by their latest level (every level of ``LEVEL_ORDER``), and the panel's
    ``ml.model_status`` row (status, reason) if any."""
    counts = dict(conn.execute(_latest(entity_type) + " select warning_level, count(*) from latest group by 1"
                               ).fetchall())
    status = conn.execute("select status, reason_en from ml.model_status where entity_type = %s "
                          "order by updated_at desc limit 1", (entity_type,)).fetchone()
    return {lvl: counts.get(lvl, 0) for lvl in LEVEL_ORDER}, status


def warning_levels(conn) -> dict:
    """Institutions by their latest early-warning level; the three riskiest red ones with reasons (orange
    ones when none is red: a supervisor still wants to know whom to look at first)."""
    levels, status = _levels_and_status(conn, "institution")
    top = conn.execute(_latest("institution") + """
        select l.entity_id, coalesce(i.name, l.entity_id), l.period, l.probability, l.reasons, l.overrides,
               l.warning_level
        from latest l left join lateral (
            select name from raw.institution where institution_code = l.entity_id
            order by report_period desc limit 1) i on true
        where l.warning_level = 'red'
           or (l.warning_level = 'orange' and not exists (select from latest where warning_level = 'red'))
        order by l.probability desc, l.entity_id limit 3""").fetchall()
    return {"institutions_by_level": levels, "instead": None if status is None or status[0] == "scored" else
            _or_none(without_model, conn),
            "model_status": None if status is None or status[0] == "scored" else status[1],
            "scored_by": status[1] if status is not None and status[0] == "scored" else None,
            "top_at_risk": [{"institution": code, "name": name, "period": str(period), "probability": round(p, 3),
                         "reasons": _in_words(reasons, overrides), "level": level}
                        for code, name, period, p, reasons, overrides, level in top]}


def _or_none(fn, conn):
    """``fn(conn)``, or None when its marts are not built (the rest of the section still tells)."""
    import psycopg

    try:
        return fn(conn)
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn):
        return None


def without_model(conn) -> dict:
    """When no model scores institutions: what the panel has to learn from (quarters whose four-quarter
    look-ahead is complete, their events) and what a supervisor can act on instead: the institutions below a
    capital minimum in the latest quarter, a breach of a rule, not a warning level."""
    labelled = conn.execute(
        """select count(distinct period), min(period), max(period), coalesce(sum(label_high_risk_4q), 0)
           from marts_features.institution_quarter_training where label_high_risk_4q is not null""").fetchone()
    below = conn.execute(
        """select f.period, f.institution_code, coalesce(i.name, f.institution_code), f.total_car
           from marts_features.institution_quarter_features f left join lateral (
               select name from raw.institution where institution_code = f.institution_code
               order by report_period desc limit 1) i on true
           where f.period = (select max(period) from marts_features.institution_quarter_features)
             and f.car_below_minimum = 1 order by f.total_car nulls last""").fetchall()
    return {"labelled_quarters": labelled[0], "labelled_from": str(labelled[1]) if labelled[1] else None,
            "labelled_until": str(labelled[2]) if labelled[2] else None, "labelled_events": int(labelled[3]),
            "period": str(below[0][0]) if below else None, "below_capital_minimum": len(below),
            "lowest_car": [{"institution": c, "name": n, "total_car": None if car is None else round(float(car), 4)}
                           for _, c, n, car in below[:3]]}


def firm_levels(conn) -> dict:
    """Firms by their latest early-warning level, and what scores them (or why nothing does)."""
    levels, status = _levels_and_status(conn, "firm")
    return {"firms_by_level": levels, "status": None if status is None else status[1]}


def _in_words(reasons: list | None, overrides: list | None, n: int = 3) -> list[str]:
    """Rule overrides first (they raised the level), then the model's top reasons with their values."""
    out = [o["text_en"] for o in (overrides or []) if isinstance(o, dict) and o.get("text_en")]
    for r in reasons or []:
        if isinstance(r, dict) and r.get("text_en"):
            v = r.get("value")
            out.append(r["text_en"] + (f" (value {v:.3g})" if isinstance(v, int | float) else ""))
    return out[:n]


def flow_queue(conn) -> dict:
    """Suspected illegal-fundraising flow alerts with no supervisor decision yet."""
    total, open_ = conn.execute(
        """select count(*), count(*) filter (where d.alert_id is null)
           from marts_flows.flow_alerts a left join ops.alert_disposition_current d
             on d.alert_kind = 'flow_alert' and d.alert_id = a.alert_id""").fetchone()
    # the account model's score is shown on the alerts only when it passed its guardrails: say why not
    status = conn.execute("select status, short_en, reason_en from ml.model_status where entity_type = 'account' "
                          "order by updated_at desc limit 1").fetchone()
    why = None
    if status is not None and status[0] != "scored":  # reason_en repeats the short verdict before the rule's figures
        why = f"{status[1]}: {status[2].split('): ', 1)[-1]}" if "): " in status[2] else status[2]
    return {"flow_alerts": total, "awaiting_decision": open_, "account_model": why}


def story(state=None) -> dict:
    import psycopg

    from include.config import paths
    from include.warehouse.connection import admin_url, libpq_url

    p = state or paths()
    out: dict = {}
    with psycopg.connect(libpq_url(admin_url()), autocommit=True) as conn:
        for key, fn in (("gate", gate), ("warnings", warning_levels), ("firms", firm_levels), ("flows", flow_queue)):
            try:
                out[key] = fn(conn)
            except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as e:
                out[key] = {"not_built": str(e).splitlines()[0]}
        out["feedback_example"] = feedback_example(p.outbox, conn)
    port = __import__("os").environ.get("AIRFLOW__API__PORT", "8080")
    out["where_to_click"] = {
        "airflow_ui": f"supervision airflow-ui   then http://127.0.0.1:{port}/dags/build_warehouse (grid, task logs)",
        "data_quality": f"supervision bi up   (dashboards; offline pages per submission: {p.home / 'bi' / 'dq_pages'})",
        "dbt_docs": f"supervision dbt -- docs generate   then {p.dbt_target / 'index.html'}",
        "feedback_outbox": str(p.outbox),
    }
    return out


def _instead_lines(d: dict | None) -> list[str]:
    """Why there is no institution warning, in words, and the capital breaches to act on instead."""
    if not d:
        return []
    lines = [f"  a warning is the probability of a rating 5/6/S or a takeover within four quarters; "
             f"{d['labelled_quarters']} quarters have all four rated"
             + (f" ({d['labelled_from']}..{d['labelled_until']}, {d['labelled_events']} events)"
                if d["labelled_quarters"] else "")
             + ": the models are fitted, calibrated and tested out of time on these alone"]
    if d["period"]:
        names = ", ".join(f"{r['name']} ({r['institution']}, total CAR {r['total_car']:.2%})"
                          if r["total_car"] is not None else f"{r['name']} ({r['institution']})"
                          for r in d["lowest_car"])
        line = (f"  instead, {d['below_capital_minimum']} institutions are below a capital minimum in "
                f"{d['period']} (a rule breached, not a warning level)" + (f": {names}" if names else ""))
        lines.append(clip(line, 240))
    return lines


def render(s: dict) -> list[str]:
    """The story as at most ~30 short lines."""
    lines = ["", "=== what happened ==="]
    g = s.get("gate", {})
    if "by_status" in g:
        st = g["by_status"]
        stopped = st.get("quarantined", 0) + st.get("rejected", 0)
        lines.append(f"Submissions: {g['submissions']} received with {g['files_received']} files: "
                     f"{st.get('accepted', 0)} accepted, {st.get('quarantined', 0)} quarantined, "
                     f"{st.get('rejected', 0)} rejected"
                     + (f", {st['duplicate']} duplicates ignored" if st.get("duplicate") else "")
                     + (f"; {g['unreadable_manifests']} more submissions rejected whole (manifest unreadable)"
                        if g.get("unreadable_manifests") else ""))
        if stopped:
            for r in g["top_failed_rules"]:
                lines.append(f"  stopped by {r['rule']} ({r['severity']}): {r['files']} files, {r['rows']} rows")
            for r in g["rejected_by_loader"]:
                lines.append(f"  rejected by the loader: {r['rule']}: {r['files']} files")
        if s.get("feedback_example"):
            lines.append(f"  feedback the institution gets: {s['feedback_example']}")
    w = s.get("warnings", {})
    if "institutions_by_level" in w:
        lv = w["institutions_by_level"]
        if w.get("model_status") and not any(lv.values()):
            why = w["model_status"]
            lines.append("Institutions by early-warning level: none yet, the institution model is not in use: "
                         + clip(why, 200))
            lines.extend(_instead_lines(w.get("instead")))
        else:
            lines.append("Institutions by early-warning level: " + ", ".join(f"{k} {v}" for k, v in lv.items()))
            if w.get("scored_by"):
                lines.append(f"  {w['scored_by'][:200]}")
        for r in w["top_at_risk"]:
            lines.append(f"  {r['level']}: {r['name']} ({r['institution']}, {r['period']}, "
                         f"p={r['probability']})")
            for reason in r["reasons"]:
                lines.append(f"       - {reason}")
    fl = s.get("firms", {})
    if "firms_by_level" in fl and (any(fl["firms_by_level"].values()) or fl.get("status")):
        why = fl.get("status") or ""
        lines.append("Firms by early-warning level: "
                     + (", ".join(f"{k} {v}" for k, v in fl["firms_by_level"].items())
                        if any(fl["firms_by_level"].values()) else "none yet")
                     + (f" ({clip(why, 180)})" if why else ""))
    f = s.get("flows", {})
    if "flow_alerts" in f:
        lines.append(f"Suspicious-flow queue: {f['awaiting_decision']} alerts awaiting a decision "
                     f"(of {f['flow_alerts']})")
        if f.get("account_model"):
            lines.append(f"  no account risk score on the alerts: {f['account_model'][:220]}")
    lines.append("Where to click:")
    for k, v in s["where_to_click"].items():
        lines.append(f"  {k:<16} {v}")
    return lines


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="supervision story", description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="the figures as JSON")
    args = ap.parse_args(argv)
    s = story()
    print(json.dumps(s, indent=2, ensure_ascii=False, default=str) if args.json else "\n".join(render(s)))
    return 0
