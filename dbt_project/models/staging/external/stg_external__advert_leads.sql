-- 广告线索 / Advert leads (raw_ext.advert_leads, written by the external-feed extractors). Renamed, nothing else.
with

source as (
    select * from {{ source('external', 'advert_leads') }}
),

renamed as (
    select
        lead_id,
        advertiser,
        platform,
        text as advert_text,
        captured_at,
        source_url,
        version,
        updated_at,
        fetch_id
    from source
)

select * from renamed
