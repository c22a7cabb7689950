-- A firm's borrowing across all institutions at each institution's latest loan snapshot: total
-- balance, number of lenders, overdue anywhere, worst classification.
with

loans as (
    select * from {{ ref('stg_submissions__loans') }}
),

current_loans as (
    select * from ({{ latest_snapshot('loans', latest_snapshot_pairs('loan')) }}) as latest_loans
    where latest_loans.borrower_uscc is not null
),

final as (
    select
        borrower_uscc as firm_uscc,
        count(distinct institution_code) as lender_count,
        array_agg(distinct institution_code order by institution_code) as lender_codes,
        count(*) as loan_count,
        sum(balance) as total_balance,
        sum(balance) filter (where overdue_days > 0) as overdue_balance,
        max(overdue_days) as max_overdue_days,
        bool_or(overdue_days > 0) as overdue_anywhere,
        bool_or(five_category in ('次级', '可疑', '损失')) as non_performing_anywhere,
        sum(balance) filter (where purpose = '房地产开发') as real_estate_development_balance,
        max(report_period) as as_of_period
    from current_loans
    group by borrower_uscc
)

select * from final
