-- 存贷款报表 / Quarterly deposits and loans; loans equal the quarter-end month's loan detail.
-- Latest accepted version only (macro latest_accepted); typed and renamed, nothing else.
with

source as (
    {{ latest_accepted('deposits_loans') }}
),

renamed as (
    select
        institution_code,
        report_period,
        total_deposits,
        personal_deposits,
        corporate_deposits,
        total_loans,
        personal_loans,
        corporate_loans,
        _batch_id as batch_id,
        _line as source_line
    from source
)

select * from renamed
