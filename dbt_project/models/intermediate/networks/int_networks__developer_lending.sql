-- Loans to real-estate developers, per lending institution, month end and developer, each with the
-- developer's red-line colour as it was public at that month end (no look-ahead by publication date): the
-- latest quarter whose disclosure had been published by the end of the month (China time), in the version
-- current then. A Q4 balance sheet published in April does not judge a loan of February (the Q3 one does),
-- and a restatement published in June does not change the colour of a loan of May. A developer is a firm
-- with at least one disclosure in the developer_financials feed; months before its first published
-- disclosure are 'undisclosed'. Firm <-> loan <-> institution as elsewhere: the loan detail's borrower_uscc.
with

loans as (
    select
        institution_code,
        report_period,
        borrower_uscc,
        balance,
        overdue_days,
        purpose
    from {{ ref('stg_submissions__loans') }}
    where borrower_uscc is not null
),

red_lines as (
    select * from {{ ref('int_networks__developer_red_lines') }}
),

developers as (
    select distinct developer_uscc from red_lines
),

developer_loans as (
    select
        loans.institution_code,
        loans.report_period as period,
        loans.borrower_uscc as developer_uscc,
        count(*) as loan_count,
        sum(loans.balance) as loan_balance,
        coalesce(sum(loans.balance) filter (where loans.overdue_days > 0), 0) as overdue_balance,
        coalesce(sum(loans.balance) filter (where loans.purpose = '房地产开发'), 0) as development_balance
    from loans
    inner join developers on loans.borrower_uscc = developers.developer_uscc
    group by loans.institution_code, loans.report_period, loans.borrower_uscc
),

final as (
    select
        developer_loans.*,
        latest.report_period as disclosure_period,
        latest.version as disclosure_version,
        latest.lines_breached,
        coalesce(latest.colour, 'undisclosed') as colour
    from developer_loans
    left join lateral (
        select
            red_lines.report_period,
            red_lines.version,
            red_lines.lines_breached,
            red_lines.colour
        from red_lines
        where
            red_lines.developer_uscc = developer_loans.developer_uscc
            and red_lines.report_period <= developer_loans.period
            and red_lines.published_at
            < ((developer_loans.period + 1)::timestamp at time zone 'Asia/Shanghai')
        order by red_lines.report_period desc, red_lines.version desc
        limit 1
    ) as latest on true
)

select * from final
