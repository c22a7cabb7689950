-- 法院执行 / Court enforcement cases (raw_ext.court_enforcement, written by the external-feed extractors). Renamed,
-- nothing else.
with

source as (
    select * from {{ source('external', 'court_enforcement') }}
),

renamed as (
    select
        case_no,
        party_type,
        party_id,
        party_name,
        court,
        filed_date,
        amount,
        list_type,
        status as case_status,
        version,
        updated_at,
        fetch_id
    from source
)

select * from renamed
