-- 广告线索标记 / Advert lead flags (illegal promotion) (raw_ext.advert_lead_flag, written by the external-feed extractors).
-- Renamed, nothing else.
with

source as (
    select * from {{ source('external', 'advert_lead_flag') }}
),

renamed as (
    select
        lead_id,
        lead_version,
        advertiser,
        linked_entity_type,
        linked_entity_id,
        link_method,
        illegal_promo,
        promo_score,
        matched_phrases
    from source
)

select * from renamed
