-- 新闻情绪 / News tone and risk score (raw_ext.news_tone, written by the external-feed extractors). Renamed, nothing else.
with

source as (
    select * from {{ source('external', 'news_tone') }}
),

renamed as (
    select
        news_id,
        news_version,
        tone,
        risk_score,
        matched_terms
    from source
)

select * from renamed
