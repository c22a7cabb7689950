-- 担保信息表 / Guarantees securing loans outstanding at the month end (snapshot): who guarantees whose loan (guarantor ->
-- borrower), and for how much.
-- Latest accepted version only (macro latest_accepted); typed and renamed, nothing else.
with

source as (
    {{ latest_accepted('guarantee') }}
),

renamed as (
    select
        institution_code,
        report_period,
        guarantee_id,
        loan_id,
        borrower_uscc,
        guarantor_type,
        guarantor_uscc,
        guarantor_resident_id,
        guarantor_name,
        guarantee_amount,
        guarantee_type,
        start_date,
        end_date,
        _batch_id as batch_id,
        _line as source_line
    from source
)

select * from renamed
