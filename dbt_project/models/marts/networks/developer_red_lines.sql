{{ config(post_hook="{{ apply_bureau_rls('bureau_codes', is_array=true) }}") }}
-- 房企“三道红线” / The developers' three red lines, per developer and disclosed quarter (its latest version: a
-- restatement replaces what was first published): the balance-sheet
-- inputs, the three ratios (formulas in int_networks__developer_red_lines), each line's breach flag, lines
-- breached and the colour (green 0 / yellow 1 / orange 2 / red 3), the change against the previous
-- disclosed quarter, and the developer's lenders at that quarter end (loan detail). Row-level security:
-- the developer's own bureau and the bureaus of every institution that ever lent to it.
with

red_lines as (  -- what is known today: the latest version of each disclosure
    select * from {{ ref('int_networks__developer_red_lines') }}
    where is_latest_version
),

lending as (
    select * from {{ ref('int_networks__developer_lending') }}
),

firms as (
    select * from {{ ref('int_entities__firms') }}
),

institutions as (
    select * from {{ ref('int_entities__institutions') }}
),

quarter_lenders as (
    select
        developer_uscc,
        period,
        count(distinct institution_code) as lender_count,
        array_agg(distinct institution_code order by institution_code) as lender_codes,
        sum(loan_balance) as loan_balance,
        sum(overdue_balance) as overdue_balance
    from lending
    group by developer_uscc, period
),

developer_bureaus as (
    select distinct
        red_lines.developer_uscc,
        coalesce(firms.bureau_code, '{{ var("national_bureau_code") }}') as bureau_code
    from red_lines
    left join firms on red_lines.developer_uscc = firms.firm_uscc
),

all_bureaus as (
    select
        developer_uscc,
        bureau_code
    from developer_bureaus
    union
    select
        lending.developer_uscc,
        institutions.bureau_code
    from lending
    inner join institutions on lending.institution_code = institutions.institution_code
    where institutions.bureau_code is not null
),

bureau_sets as (
    select
        developer_uscc,
        array_agg(bureau_code order by bureau_code) as bureau_codes
    from all_bureaus
    group by developer_uscc
),

with_previous as (
    select
        *,
        lag(report_period) over developer_quarters as previous_period,
        lag(lines_breached) over developer_quarters as previous_lines_breached,
        lag(colour) over developer_quarters as previous_colour
    from red_lines
    window developer_quarters as (partition by developer_uscc order by report_period)
),

final as (
    select
        with_previous.disclosure_id,
        with_previous.developer_uscc,
        with_previous.developer_name,
        with_previous.report_period,
        with_previous.total_assets,
        with_previous.total_liabilities,
        with_previous.advance_receipts,
        with_previous.cash,
        with_previous.short_term_debt,
        with_previous.long_term_debt,
        with_previous.interest_bearing_debt,
        with_previous.equity,
        with_previous.liability_ratio_ex_adv::numeric(12, 6) as liability_ratio_ex_adv,
        with_previous.net_gearing::numeric(12, 6) as net_gearing,
        with_previous.cash_to_short_debt::numeric(12, 6) as cash_to_short_debt,
        with_previous.breach_liability_ratio,
        with_previous.breach_net_gearing,
        with_previous.breach_cash_ratio,
        with_previous.lines_breached,
        with_previous.colour,
        with_previous.previous_period,
        with_previous.previous_lines_breached,
        with_previous.previous_colour,
        with_previous.lines_breached - with_previous.previous_lines_breached as lines_breached_change,
        case
            when with_previous.previous_lines_breached is null then 'first'
            when with_previous.lines_breached > with_previous.previous_lines_breached then 'worse'
            when with_previous.lines_breached < with_previous.previous_lines_breached then 'better'
            else 'same'
        end as colour_trend,
        coalesce(quarter_lenders.lender_count, 0) as lender_count,
        coalesce(quarter_lenders.lender_codes, '{}') as lender_codes,
        coalesce(quarter_lenders.loan_balance, 0) as loan_balance,
        coalesce(quarter_lenders.overdue_balance, 0) as overdue_balance,
        developer_bureaus.bureau_code,
        bureau_sets.bureau_codes,
        with_previous.version,
        with_previous.first_published_at as first_disclosed_at,
        with_previous.published_at as disclosed_at
    from with_previous
    left join quarter_lenders
        on
            with_previous.developer_uscc = quarter_lenders.developer_uscc
            and with_previous.report_period = quarter_lenders.period
    left join developer_bureaus on with_previous.developer_uscc = developer_bureaus.developer_uscc
    left join bureau_sets on with_previous.developer_uscc = bureau_sets.developer_uscc
)

select * from final
