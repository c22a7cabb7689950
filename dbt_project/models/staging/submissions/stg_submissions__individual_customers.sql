-- 个人客户信息表 / Individual customers: new in the month, plus every existing one in an institution's first submitted month.
-- Latest accepted version only (macro latest_accepted); typed and renamed, nothing else.
with

source as (
    {{ latest_accepted('customer_individual') }}
),

renamed as (
    select
        institution_code,
        report_period,
        customer_id,
        resident_id,
        name as person_name,
        sex,
        birth_date,
        phone,
        region_code,
        onboard_date,
        _batch_id as batch_id,
        _line as source_line
    from source
)

select * from renamed
