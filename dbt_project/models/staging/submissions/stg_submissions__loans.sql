-- 贷款借据表 / Loans outstanding at the month end (snapshot), with balance, five-category classification and days overdue.
-- Latest accepted version only (macro latest_accepted); typed and renamed, nothing else.
with

source as (
    {{ latest_accepted('loan') }}
),

renamed as (
    select
        institution_code,
        report_period,
        loan_id,
        customer_id,
        customer_type,
        borrower_uscc,
        borrower_resident_id,
        industry_code,
        purpose,
        collateral_type,
        contract_amount,
        balance,
        five_category,
        overdue_days,
        interest_rate,
        start_date,
        maturity_date,
        _batch_id as batch_id,
        _line as source_line
    from source
)

select * from renamed
