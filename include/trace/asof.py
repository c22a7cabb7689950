"""An institution's portrait as the warehouse knew it on a date: accepted versions up to then only.

For every (submitting institution, period, dataset) the version counted is the highest one whose batch
had been *accepted* (``ops.batch_event``) by the end of the date, even if a later resubmission has since
superseded it; periods after the date are ignored. ``by="submitted"`` dates a version by the submission
time its manifest states instead (for a history replayed into the warehouse after the fact). The
indicators are recomputed from those raw rows with the formulas of ``int_prudential__indicators``, so a
resubmission after the date cannot change the answer.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import psycopg
from psycopg import sql

#: dataset -> columns read; indicator -> (numerator, denominator, factor)
REPORTS = {
    "capital_report": ("cet1_capital", "tier1_capital", "total_capital", "total_rwa"),
    "asset_quality": ("npl_balance", "total_loans", "loan_loss_provision"),
    "liquidity": ("liquid_assets", "liquid_liabilities", "hqla", "net_cash_outflows_30d"),
    "deposits_loans": ("total_deposits",),
    "profitability": ("net_profit", "average_total_assets"),
    "solvency": ("actual_capital", "minimum_capital"),
}
INDICATORS = {
    "total_car": ("total_capital", "total_rwa", 1), "cet1_car": ("cet1_capital", "total_rwa", 1),
    "npl_ratio": ("npl_balance", "total_loans", 1), "provision_coverage": ("loan_loss_provision", "npl_balance", 1),
    "liquidity_ratio": ("liquid_assets", "liquid_liabilities", 1), "lcr": ("hqla", "net_cash_outflows_30d", 1),
    "loan_to_deposit": ("total_loans", "total_deposits", 1), "roa": ("net_profit", "average_total_assets", 4),
    "solvency_ratio": ("actual_capital", "minimum_capital", 1),
}

KNOWN_SQL = {
    # the warehouse's own record: the batch had been accepted (ops.batch_event) by the cutoff
    "accepted": """
select distinct on (s.institution_code, s.period, b.dataset)
       b.batch_id, b.dataset, s.submission_id, s.period, s.version, e.at as known_at
from ops.batch b
join ops.submission s on s.submission_id = b.submission_id
join ops.batch_event e on e.batch_id = b.batch_id and e.status = 'accepted'
where e.at < %(cutoff)s and s.period <= %(as_of)s and b.dataset = any(%(datasets)s)
order by s.institution_code, s.period, b.dataset, s.version desc, e.at desc
""",
    # a replayed history (files loaded long after they were submitted): the submission time stated in
    # the manifest, for batches that were accepted (or accepted and later superseded)
    "submitted": """
select distinct on (s.institution_code, s.period, b.dataset)
       b.batch_id, b.dataset, s.submission_id, s.period, s.version, s.submitted_at as known_at
from ops.batch b
join ops.submission s on s.submission_id = b.submission_id
where b.status in ('accepted', 'superseded') and s.submitted_at < %(cutoff)s and s.period <= %(as_of)s
  and b.dataset = any(%(datasets)s)
order by s.institution_code, s.period, b.dataset, s.version desc
""",
}


def cutoff_of(as_of: date | datetime) -> datetime | date:
    """A date means the end of that day (session time zone); a datetime is the instant itself."""
    return as_of if isinstance(as_of, datetime) else as_of + timedelta(days=1)


def known_batches(conn: psycopg.Connection, as_of: date | datetime, datasets: list[str],
                  by: str = "accepted") -> list[tuple]:
    day = as_of.date() if isinstance(as_of, datetime) else as_of
    return conn.execute(KNOWN_SQL[by], {"cutoff": cutoff_of(as_of), "as_of": day, "datasets": datasets}).fetchall()


def portrait_as_of(conn: psycopg.Connection, institution: str, as_of: date | datetime,
                   by: str = "accepted") -> dict:
    """{'institution': {...} | None, 'rating': (period, rating) | None, 'quarters': {period: {indicator: value}},
    'versions': [(dataset, period, version, batch_id, submission_id, accepted_at)]}."""
    datasets = [*REPORTS, "institution", "supervisory_rating"]
    known = known_batches(conn, as_of, datasets, by)
    by_dataset: dict[str, list[int]] = {}
    for batch_id, dataset, *_ in known:
        by_dataset.setdefault(dataset, []).append(batch_id)
    figures: dict = {}
    used: set[int] = set()
    for dataset, cols in REPORTS.items():
        ids = by_dataset.get(dataset, [])
        q = sql.SQL("select report_period, _batch_id, {} from {} where institution_code = %s "
                    "and _batch_id = any(%s)").format(sql.SQL(", ").join(map(sql.Identifier, cols)),
                                                     sql.Identifier("raw", dataset))
        for period, batch_id, *values in conn.execute(q, (institution, ids)).fetchall():
            figures.setdefault(period, {}).update(zip(cols, values, strict=True))
            used.add(batch_id)
    quarters = {}
    for period in sorted(figures):
        f = figures[period]
        quarters[period] = {
            code: (float(f[num]) * k / float(f[den]) if f.get(num) is not None and f.get(den) else None)
            for code, (num, den, k) in INDICATORS.items()}
    inst = conn.execute(
        "select report_period, name, institution_type, bureau_code, _batch_id from raw.institution "
        "where institution_code = %s and _batch_id = any(%s) order by report_period desc limit 1",
        (institution, by_dataset.get("institution", []))).fetchone()
    if inst:
        used.add(inst[4])
    rating = conn.execute(
        "select report_period, rating, _batch_id from raw.supervisory_rating where institution_code = %s "
        "and _batch_id = any(%s) order by report_period desc limit 1",
        (institution, by_dataset.get("supervisory_rating", []))).fetchone()
    if rating:
        used.add(rating[2])
    versions = [(d, p, v, b, s, at) for b, d, s, p, v, at in known if b in used]
    return {
        "institution": ({"as_of_record": inst[0], "name": inst[1], "type": inst[2], "bureau": inst[3]}
                        if inst else None),
        "rating": (rating[0], rating[1]) if rating else None,
        "quarters": quarters,
        "versions": sorted(versions, key=lambda v: (v[1], v[0])),
        "by": by,
    }
