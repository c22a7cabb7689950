-- 房地产开发企业财务披露 / Real-estate developers' quarterly balance sheets: every published version of every
-- disclosure (raw_ext.developer_financials_history, written by the external-feed extractors). A restatement
-- is a new version; `published_at` is when that version was published (the feed's updated_at), so a month
-- can be judged by what was public at its end. Renamed, nothing else: the three red lines are computed in
-- int_networks__developer_red_lines, never taken from a source.
with

source as (
    select * from {{ source('external', 'developer_financials_history') }}
),

renamed as (
    select
        disclosure_id,
        uscc as developer_uscc,
        name as developer_name,
        report_period,
        total_assets,
        total_liabilities,
        advance_receipts,
        cash,
        short_term_debt,
        long_term_debt,
        equity,
        version,
        updated_at as published_at,
        min(updated_at) over (partition by disclosure_id) as first_published_at,
        version = max(version) over (partition by disclosure_id) as is_latest_version,
        fetch_id
    from source
)

select * from renamed
