{{ config(
    materialized='incremental',
    unique_key=['institution_code', 'period'],
    incremental_strategy='delete+insert',
) }}
-- The loan book re-derived from the loan detail at each quarter-end month, to compare with what the
-- institution reported. NPL here counts a loan as non-performing if it is classified 次级/可疑/损失 OR
-- more than 90 days overdue (an NPL understated by classification shows up as a gap).
-- Incremental: only periods with a loan batch newer than the last build are recomputed; a resubmission
-- (new batch, same period) replaces the period's row.
with

loans as (
    select * from {{ ref('stg_submissions__loans') }}
    where
        extract(month from report_period) in (3, 6, 9, 12)
        {% if is_incremental() %}
        and (institution_code, report_period) in (
            select
                newer.institution_code,
                newer.report_period
            from {{ ref('stg_submissions__loans') }} as newer
            where newer.batch_id > (select coalesce(max(built.source_batch_id), 0) from {{ this }} as built)
        )
        {% endif %}
),

by_customer as (
    select
        institution_code,
        report_period,
        customer_id,
        sum(balance) as exposure,
        row_number() over (
            partition by institution_code, report_period order by sum(balance) desc, customer_id
        ) as exposure_rank
    from loans
    group by institution_code, report_period, customer_id
),

concentration as (
    select
        institution_code,
        report_period,
        max(exposure) as largest_customer_exposure,
        sum(exposure) filter (where exposure_rank <= 10) as top10_customer_exposure
    from by_customer
    group by institution_code, report_period
),

book as (
    select
        institution_code,
        report_period,
        sum(balance) as total_loans,
        sum(balance) filter (
            where five_category in ('次级', '可疑', '损失') or overdue_days > 90
        ) as npl_balance,
        sum(balance) filter (where purpose = '房地产开发') as real_estate_development_loans,
        sum(balance) filter (where purpose = '个人住房按揭') as mortgage_loans,
        max(batch_id) as source_batch_id
    from loans
    group by institution_code, report_period
),

final as (
    select
        book.institution_code,
        book.report_period as period,
        book.total_loans,
        coalesce(book.npl_balance, 0) as npl_balance,
        coalesce(book.real_estate_development_loans, 0) as real_estate_development_loans,
        coalesce(book.mortgage_loans, 0) as mortgage_loans,
        concentration.largest_customer_exposure,
        concentration.top10_customer_exposure,
        book.source_batch_id
    from book
    left join concentration
        on
            book.institution_code = concentration.institution_code
            and book.report_period = concentration.report_period
)

select * from final
