-- 对公客户信息表 / Corporate customers: new in the month, plus every existing one in an institution's first submitted month
-- (changes are resubmitted as new rows; latest wins).
-- Latest accepted version only (macro latest_accepted); typed and renamed, nothing else.
with

source as (
    {{ latest_accepted('customer_corporate') }}
),

renamed as (
    select
        institution_code,
        report_period,
        customer_id,
        uscc,
        name as firm_name,
        industry_code,
        region_code,
        registered_capital,
        founded_date,
        legal_rep_name,
        legal_rep_resident_id,
        onboard_date,
        _batch_id as batch_id,
        _line as source_line
    from source
)

select * from renamed
