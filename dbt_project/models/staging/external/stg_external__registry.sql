-- 工商登记 / Business registry: latest version of each firm (raw_ext.registry, written by the external-feed extractors).
-- Renamed, nothing else.
with

source as (
    select * from {{ source('external', 'registry') }}
),

renamed as (
    select
        uscc,
        name as firm_name,
        legal_rep_name,
        registered_capital,
        status as registry_status,
        industry_code,
        industry_name,
        region_code,
        address,
        founded_date,
        shareholders,
        version,
        updated_at,
        fetch_id
    from source
)

select * from renamed
