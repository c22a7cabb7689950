-- 交易流水表 / Account transactions in the month, one row per side held at the reporting institution.
-- Latest accepted version only (macro latest_accepted); typed and renamed, nothing else.
with

source as (
    {{ latest_accepted('transaction') }}
),

renamed as (
    select
        institution_code,
        report_period,
        txn_id,
        account_no,
        txn_time,
        direction,
        amount,
        channel,
        counterparty_account,
        counterparty_name,
        counterparty_institution_code,
        purpose,
        _batch_id as batch_id,
        _line as source_line
    from source
)

select * from renamed
