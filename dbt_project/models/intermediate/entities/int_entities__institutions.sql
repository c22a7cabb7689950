-- Institutions resolved by licence number: one row per institution code with its latest reported
-- attributes. An institution that changed its code keeps its licence, so `institution_key` (the
-- licence number) links its records across codes. An institution whose prudential reports were
-- accepted but whose institution record never was (quarantined, or not yet delivered), or that is
-- known only from its accounts (a transfer export brought in by `supervision import transactions`), is
-- still an entity: it appears with its code only and `has_institution_record` false, so its indicators
-- and flow alerts reach the portraits instead of silently dropping out. Its bureau is the one the
-- regulator gave when admitting it (`supervision institutions admit CODE --bureau ZJ`,
-- ops.institution_register); without one it is visible to HQ only.
-- The latest record is the last one accepted (submission order: batch_id), never one for a period
-- still in the future (issue #14: a record dated 2099 must not become the institution's identity).
with

institutions as (
    select * from {{ ref('stg_submissions__institutions') }}
),

register as (
    select
        institution_code,
        bureau_code
    from {{ source('ops', 'institution_register') }}
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
    where report_period <= current_date
    order by institution_code asc, batch_id desc
),

-- what each institution reported, for those with no institution record: prudential reports, accounts
reported as (
    select
        institution_code,
        period
    from {{ ref('int_prudential__indicators') }}
    union all
    -- accounts, and transactions whose accounts were never delivered (their reference rule only warns): the
    -- flow queue may still name the institution, so it is an entity too (the months with rows of either,
    -- int_entities__reported_periods: incremental, not the whole raw history)
    select
        institution_code,
        period
    from {{ ref('int_entities__reported_periods') }}
),

reported_only as (
    select
        institution_code,
        min(period) as first_reported_period,
        max(period) as last_reported_period
    from reported
    where institution_code not in (select institutions.institution_code from institutions)
    group by institution_code
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
        latest.last_reported_period,
        true as has_institution_record
    from latest
    inner join first_seen on latest.institution_code = first_seen.institution_code

    union all

    select
        null as institution_key,
        reported_only.institution_code,
        null as licence_no,
        null as uscc,
        null as institution_name,
        null as institution_type,
        register.bureau_code,
        null as region_code,
        null::integer as size_tier,
        null::date as established_date,
        reported_only.first_reported_period,
        reported_only.last_reported_period,
        false as has_institution_record
    from reported_only
    left join register on reported_only.institution_code = register.institution_code
)

select * from final
