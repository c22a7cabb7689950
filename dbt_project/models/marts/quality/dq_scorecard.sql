-- Data-quality scorecard per submitting institution and period, from the submission log (ops):
-- data files received, accepted, quarantined, rejected, resubmitted (superseded), duplicate, the quality
-- rules that failed (critical and warning) and the share of files accepted at first delivery; with the
-- loader's per-period summary (ops.dq_summary): due date, timeliness, versions needed until accepted.
with

submissions as (
    select * from {{ source('ops', 'submission') }}
),

batches as (
    select * from {{ source('ops', 'batch') }}
),

dq as (
    select * from {{ source('ops', 'dq_result') }}
),

summary as (
    select * from {{ source('ops', 'dq_summary') }}
),

institutions as (
    select * from {{ ref('int_entities__institutions') }}
),

dq_per_batch as (
    select
        dq.batch_id,
        count(*) filter (where not dq.success and dq.severity = 'critical') as critical_failures,
        count(*) filter (where not dq.success and dq.severity = 'warning') as warning_failures
    from dq
    group by dq.batch_id
),

per_batch as (
    select
        submissions.institution_code,
        submissions.period,
        submissions.version,
        batches.batch_id,
        batches.status,
        coalesce(dq_per_batch.critical_failures, 0) as critical_failures,
        coalesce(dq_per_batch.warning_failures, 0) as warning_failures
    from batches
    inner join submissions on batches.submission_id = submissions.submission_id
    left join dq_per_batch on batches.batch_id = dq_per_batch.batch_id
),

per_period as (
    select
        per_batch.institution_code,
        per_batch.period,
        institutions.institution_name,
        coalesce(institutions.bureau_code, '{{ var("national_bureau_code") }}') as bureau_code,
        max(per_batch.version) as latest_version,
        count(*) as files_received,
        count(*) filter (where per_batch.status = 'accepted') as files_accepted,
        count(*) filter (where per_batch.status = 'quarantined') as files_quarantined,
        count(*) filter (where per_batch.status = 'rejected') as files_rejected,
        count(*) filter (where per_batch.status = 'superseded') as files_superseded,
        count(*) filter (where per_batch.status = 'duplicate') as files_duplicate,
        count(*) filter (
            where per_batch.status not in ('accepted', 'quarantined', 'rejected', 'superseded', 'duplicate')
        ) as files_in_progress,
        sum(per_batch.critical_failures) as critical_rule_failures,
        sum(per_batch.warning_failures) as warning_rule_failures,
        round(
            count(*) filter (where per_batch.version = 1 and per_batch.status in ('accepted', 'superseded'))::numeric
            / nullif(count(*) filter (where per_batch.version = 1 and per_batch.status <> 'duplicate'), 0),
            4
        ) as first_delivery_acceptance_rate
    from per_batch
    left join institutions on per_batch.institution_code = institutions.institution_code
    group by per_batch.institution_code, per_batch.period, institutions.institution_name, institutions.bureau_code
),

final as (
    select
        per_period.*,
        summary.due_at,
        summary.first_submitted_at,
        summary.on_time,
        summary.days_late,
        summary.versions,
        summary.versions_needed,
        summary.accepted as period_accepted,
        summary.accepted_rows,
        summary.rules_failed
    from per_period
    left join summary
        on
            per_period.institution_code = summary.institution_code
            and per_period.period = summary.period
)

select * from final
