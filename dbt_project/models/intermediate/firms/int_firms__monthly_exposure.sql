-- A firm's borrowing and guarantees across all lenders, per month end: one row per firm (USCC) and
-- loan/guarantee snapshot period in which it borrows, guarantees or is guaranteed. Each row uses only
-- the snapshots of its own period, so a point-in-time reader cuts it by period (firm_month_features).
with

loans as (
    select
        institution_code,
        report_period,
        loan_id,
        borrower_uscc,
        balance,
        five_category,
        overdue_days
    from {{ ref('stg_submissions__loans') }}
),

guarantees as (
    select
        institution_code,
        report_period,
        loan_id,
        borrower_uscc,
        guarantor_type,
        guarantor_uscc,
        guarantee_amount
    from {{ ref('stg_submissions__guarantees') }}
),

loan_months as (
    select
        borrower_uscc as firm_uscc,
        report_period as period,
        count(distinct institution_code) as lender_count,
        count(*) as loan_count,
        sum(balance) as loan_balance,
        coalesce(sum(balance) filter (where overdue_days > 0), 0) as overdue_balance,
        max(overdue_days) as max_overdue_days,
        coalesce(sum(balance) filter (where five_category in ('次级', '可疑', '损失')), 0) as npl_balance,
        coalesce(sum(balance) filter (where five_category = '关注'), 0) as special_mention_balance
    from loans
    where borrower_uscc is not null
    group by borrower_uscc, report_period
),

guarantees_given as (
    select
        guarantees.guarantor_uscc as firm_uscc,
        guarantees.report_period as period,
        count(*) as guarantees_given,
        sum(guarantees.guarantee_amount) as guarantees_given_amount,
        count(*) filter (where loans.overdue_days > 0) as guaranteed_loans_overdue
    from guarantees
    left join loans
        on
            guarantees.institution_code = loans.institution_code
            and guarantees.report_period = loans.report_period
            and guarantees.loan_id = loans.loan_id
    where
        guarantees.guarantor_type = '企业'
        and guarantees.guarantor_uscc is not null
        and guarantees.guarantor_uscc <> guarantees.borrower_uscc
    group by guarantees.guarantor_uscc, guarantees.report_period
),

guarantees_received as (
    select
        borrower_uscc as firm_uscc,
        report_period as period,
        count(*) as guarantees_received
    from guarantees
    where borrower_uscc is not null
    group by borrower_uscc, report_period
),

final as (
    select
        firm_uscc,
        period,
        loan_months.lender_count,
        loan_months.loan_count,
        loan_months.loan_balance,
        loan_months.overdue_balance,
        loan_months.max_overdue_days,
        loan_months.npl_balance,
        loan_months.special_mention_balance,
        guarantees_given.guarantees_given,
        guarantees_given.guarantees_given_amount,
        guarantees_given.guaranteed_loans_overdue,
        guarantees_received.guarantees_received
    from loan_months
    full outer join guarantees_given using (firm_uscc, period)
    full outer join guarantees_received using (firm_uscc, period)
)

select * from final
