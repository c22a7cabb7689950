-- 新闻实体链接 / Entities mentioned in news (raw_ext.news_entity_link, written by the external-feed extractors). Renamed,
-- nothing else.
with

source as (
    select * from {{ source('external', 'news_entity_link') }}
),

renamed as (
    select
        news_id,
        news_version,
        start_pos,
        end_pos,
        surface,
        entity_type,
        entity_id,
        name_form,
        ambiguous,
        candidates,
        resolution
    from source
)

select * from renamed
