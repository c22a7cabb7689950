-- 新闻 / News items (raw_ext.news, written by the external-feed extractors). Renamed, nothing else.
with

source as (
    select * from {{ source('external', 'news') }}
),

renamed as (
    select
        news_id,
        source as news_source,
        published_at,
        title,
        url,
        version,
        updated_at,
        fetch_id
    from source
)

select * from renamed
