-- 行政处罚 / Administrative penalties (raw_ext.penalties, written by the external-feed extractors). Renamed, nothing else.
with

source as (
    select * from {{ source('external', 'penalties') }}
),

renamed as (
    select
        decision_no,
        party_type,
        party_name,
        institution_code,
        party_uscc,
        party_position,
        authority,
        bureau_code,
        decision_date,
        penalty_kind,
        amount_cny,
        reasons,
        status as decision_status,
        version,
        updated_at,
        fetch_id
    from source
)

select * from renamed
