-- 集中度风险报表 / Quarterly concentration: largest single customer and top-ten customer exposures, real-estate development
-- loans and mortgages, total loans (from the loan detail) and net capital (capital report).
-- Latest accepted version only (macro latest_accepted); typed and renamed, nothing else.
with

source as (
    {{ latest_accepted('concentration') }}
),

renamed as (
    select
        institution_code,
        report_period,
        largest_customer_exposure,
        top10_customer_exposure,
        real_estate_development_loans,
        mortgage_loans,
        total_loans,
        net_capital,
        _batch_id as batch_id,
        _line as source_line
    from source
)

select * from renamed
