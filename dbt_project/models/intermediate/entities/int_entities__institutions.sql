-- Institutions resolved by licence number: one row per institution code with its latest reported
-- attributes. An institution that changed its code keeps its licence, so `institution_key` (the
-- licence number) links its records across codes.
with

institutions as (
    select * from {{ ref('stg_submissions__institutions') }}
),

latest as (
    select distinct on (institution_code)
        institution_code,
        licence_no,
        uscc,
        institution_name,
        institution_type,
        bureau_code,
        region_code,
        size_tier,
        established_date,
        report_period as last_reported_period
    from institutions
    order by institution_code asc, report_period desc, batch_id desc
),

first_seen as (
    select
        institution_code,
        min(report_period) as first_reported_period
    from institutions
    group by institution_code
),

final as (
    select
        latest.licence_no as institution_key,
        latest.institution_code,
        latest.licence_no,
        latest.uscc,
        latest.institution_name,
        latest.institution_type,
        latest.bureau_code,
        latest.region_code,
        latest.size_tier,
        latest.established_date,
        first_seen.first_reported_period,
        latest.last_reported_period
    from latest
    inner join first_seen on latest.institution_code = first_seen.institution_code
)

select * from final
