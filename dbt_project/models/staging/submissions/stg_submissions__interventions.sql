-- 监管措施表 / Supervisory interventions taken in the month (talks, risk warnings, business restrictions, rectification
-- orders, takeover).
-- Latest accepted version only (macro latest_accepted); typed and renamed, nothing else.
with

source as (
    {{ latest_accepted('intervention') }}
),

renamed as (
    select
        report_period,
        intervention_id,
        institution_code,
        measure_date,
        measure_type,
        reason,
        _batch_id as batch_id,
        _line as source_line
    from source
)

select * from renamed
