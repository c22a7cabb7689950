-- 房地产开发企业财务披露 / Real-estate developers' quarterly balance sheets (raw_ext.developer_financials,
-- written by the external-feed extractors; latest version of each disclosure). Renamed, nothing else:
-- the three red lines are computed in marts_networks.developer_red_lines, never taken from a source.
with

source as (
    select * from {{ source('external', 'developer_financials') }}
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
        updated_at,
        fetch_id
    from source
)

select * from renamed
