-- The loan book at each quarter-end month by loan class (the loan's purpose), as the stress test needs
-- it: balance, non-performing balance (classified 次级/可疑/损失 or more than 90 days overdue) and the
-- rate-sensitive balance, each loan weighted by its remaining term in years capped at 5 (loans are
-- treated as fixed-rate to maturity: the detail carries no repricing date). Plus the loan batches used.
with

loans as (
    select * from {{ ref('stg_submissions__loans') }}
    where extract(month from report_period) in (3, 6, 9, 12)
),

final as (
    select
        institution_code,
        report_period as period,
        purpose as loan_class,
        sum(balance) as balance,
        coalesce(sum(balance) filter (
            where five_category in ('次级', '可疑', '损失') or overdue_days > 90
        ), 0) as npl_balance,
        sum(
            balance * least(greatest((maturity_date - report_period) / 365.25, 0), 5)
        ) as rate_sensitive_balance_years,
        array_agg(distinct batch_id order by batch_id) as source_batch_ids
    from loans
    group by institution_code, report_period, purpose
)

select * from final
