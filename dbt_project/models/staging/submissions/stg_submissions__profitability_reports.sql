-- 盈利能力报表 / Quarterly profitability: operating income and net profit for the quarter, total and average total assets
-- (ROA = annualised net profit / average total assets).
-- Latest accepted version only (macro latest_accepted); typed and renamed, nothing else.
with

source as (
    {{ latest_accepted('profitability') }}
),

renamed as (
    select
        institution_code,
        report_period,
        operating_income,
        net_profit,
        total_assets,
        average_total_assets,
        _batch_id as batch_id,
        _line as source_line
    from source
)

select * from renamed
