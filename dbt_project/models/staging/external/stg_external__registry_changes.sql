-- 工商变更 / Registry changes (raw_ext.registry_changes, written by the external-feed extractors). Renamed, nothing else.
with

source as (
    select * from {{ source('external', 'registry_changes') }}
),

renamed as (
    select
        change_id,
        uscc,
        name as firm_name,
        change_type,
        change_date,
        before as value_before,
        after as value_after,
        version,
        updated_at,
        fetch_id
    from source
)

select * from renamed
