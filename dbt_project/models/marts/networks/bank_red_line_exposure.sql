{{ config(post_hook="{{ apply_bureau_rls() }}") }}
-- 机构对“三道红线”房企的授信敞口 / Each institution's loans to real-estate developers by red-line colour, per
-- month end: balance, share of its corporate loans (borrowers with a USCC) and number of developers. A
-- loan is judged by the developer's disclosure as public at the month end: the latest quarter published by
-- then, in the version current then (int_networks__developer_lending); 'undisclosed': none published yet.
-- One row per institution, month and colour it lends to.
with

lending as (
    select * from {{ ref('int_networks__developer_lending') }}
),

loans as (
    select * from {{ ref('stg_submissions__loans') }}
),

institutions as (
    select * from {{ ref('int_entities__institutions') }}
),

corporate_book as (
    select
        institution_code,
        report_period as period,
        sum(balance) as corporate_loans
    from loans
    where borrower_uscc is not null
    group by institution_code, report_period
),

by_colour as (
    select
        institution_code,
        period,
        colour,
        count(distinct developer_uscc) as developer_count,
        array_agg(distinct developer_uscc order by developer_uscc) as developer_usccs,
        sum(loan_balance) as loan_balance,
        sum(overdue_balance) as overdue_balance,
        sum(development_balance) as development_balance
    from lending
    group by institution_code, period, colour
),

final as (
    select
        by_colour.institution_code,
        institutions.institution_name,
        institutions.institution_type,
        coalesce(institutions.bureau_code, '{{ var("national_bureau_code") }}') as bureau_code,
        by_colour.period,
        by_colour.colour,
        by_colour.developer_count,
        by_colour.developer_usccs,
        by_colour.loan_balance,
        by_colour.overdue_balance,
        by_colour.development_balance,
        corporate_book.corporate_loans,
        (by_colour.loan_balance / nullif(corporate_book.corporate_loans, 0))::numeric(12, 6) as share_of_corporate_loans
    from by_colour
    left join institutions on by_colour.institution_code = institutions.institution_code
    left join corporate_book
        on
            by_colour.institution_code = corporate_book.institution_code
            and by_colour.period = corporate_book.period
)

select * from final
