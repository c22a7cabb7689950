-- 账户信息表 / Deposit accounts: opened in the month or whose status changed (frozen, closed), plus every existing one in
-- an institution's first submitted month.
-- Latest accepted version only (macro latest_accepted); typed and renamed, nothing else.
with

source as (
    {{ latest_accepted('account') }}
),

renamed as (
    select
        institution_code,
        report_period,
        account_no,
        customer_id,
        customer_type,
        account_type,
        currency,
        open_date,
        status,
        _batch_id as batch_id,
        _line as source_line
    from source
)

select * from renamed
