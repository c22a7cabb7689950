-- 流动性报表 / Quarterly liquidity: liquidity ratio inputs (liquid assets / liabilities, minimum 25%) and LCR inputs (HQLA
-- / 30-day net cash outflows, minimum 100%).
-- Latest accepted version only (macro latest_accepted); typed and renamed, nothing else.
with

source as (
    {{ latest_accepted('liquidity') }}
),

renamed as (
    select
        institution_code,
        report_period,
        liquid_assets,
        liquid_liabilities,
        hqla,
        net_cash_outflows_30d,
        _batch_id as batch_id,
        _line as source_line
    from source
)

select * from renamed
