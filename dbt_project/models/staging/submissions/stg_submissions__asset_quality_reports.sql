-- 资产质量报表 / Quarterly loan quality: balances by five-category classification, NPL, overdue loans and provisions;
-- equals the sum over the quarter-end month's loan detail.
-- Latest accepted version only (macro latest_accepted); typed and renamed, nothing else.
with

source as (
    {{ latest_accepted('asset_quality') }}
),

renamed as (
    select
        institution_code,
        report_period,
        loans_normal,
        loans_special_mention,
        loans_substandard,
        loans_doubtful,
        loans_loss,
        total_loans,
        npl_balance,
        overdue_loans,
        overdue_90_loans,
        loan_loss_provision,
        _batch_id as batch_id,
        _line as source_line
    from source
)

select * from renamed
