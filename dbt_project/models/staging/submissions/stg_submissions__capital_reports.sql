-- 资本充足率报表 / Quarterly capital adequacy report (1104-style G4 series), amounts in CNY.
-- Latest accepted version only (macro latest_accepted); typed and renamed, nothing else.
with

source as (
    {{ latest_accepted('capital_report') }}
),

renamed as (
    select
        institution_code,
        report_period,
        cet1_capital,
        tier1_capital,
        total_capital,
        credit_rwa,
        market_rwa,
        operational_rwa,
        total_rwa,
        _batch_id as batch_id,
        _line as source_line
    from source
)

select * from renamed
