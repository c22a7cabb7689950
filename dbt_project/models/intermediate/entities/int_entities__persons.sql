-- Persons resolved by pseudonym: the resident ID column carries a keyed-hash token once the loader
-- pseudonymises it (the same person gets the same token at every institution), so equality links a
-- person across institutions without exposing who they are. One row per person.
with

individuals as (
    select * from {{ ref('stg_submissions__individual_customers') }}
),

latest as (
    select distinct on (resident_id)
        resident_id as person_key,
        birth_date,
        sex,
        region_code
    from individuals
    order by resident_id asc, report_period desc
),

footprint as (
    select
        resident_id as person_key,
        count(distinct institution_code) as institution_count,
        min(onboard_date) as first_onboard_date
    from individuals
    group by resident_id
),

final as (
    select
        latest.person_key,
        latest.birth_date,
        latest.sex,
        latest.region_code,
        footprint.institution_count,
        footprint.first_onboard_date
    from latest
    inner join footprint on latest.person_key = footprint.person_key
)

select * from final
