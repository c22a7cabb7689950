{{ config(
    materialized='incremental',
    unique_key=['institution_code', 'account_no', 'period'],
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}
-- Flow-pattern features per receiving account and month, over a trailing window of
-- var('flow_window_months') months: distinct payers, individual and elderly shares, round-unit and
-- investment-purpose shares, outflows concentrated on a few accounts, and payers who receive equal
-- payouts in consecutive months (the "return" of a fundraising scheme). One row per account-month
-- in which the account received money from a known counterparty account.
-- Incremental by period: only months with newer counterparty-month rows are recomputed, reading the
-- window (and one month before it, for the repeat-payout lag) back from them.
with

{% if is_incremental() %}
first_new_period as (
    select min(newer.period) as period
    from {{ ref('int_flows__counterparty_months') }} as newer
    where newer.source_batch_id > (select coalesce(max(built.source_batch_id), 0) from {{ this }} as built)
),
{% endif %}

pairs as (
    select * from {{ ref('int_flows__counterparty_months') }}
    {% if is_incremental() %}
    where
        period > (
            select first_new_period.period - make_interval(months => {{ var('flow_window_months') }} + 1)
            from first_new_period
        )
    {% endif %}
),

accounts as (
    select * from {{ ref('int_entities__accounts_latest') }}
),

-- A payout repeats when the same amount went to the same counterparty in the previous month.
pairs_lagged as (
    select
        pairs.*,
        lag(pairs.period) over cp as previous_period,
        lag(pairs.out_amount) over cp as previous_out_amount,
        lag(pairs.n_out) over cp as previous_n_out
    from pairs
    window cp as (
        partition by
            pairs.institution_code, pairs.account_no, pairs.counterparty_institution_code, pairs.counterparty_account
        order by pairs.period
    )
),

pairs_flagged as (
    select
        pairs_lagged.*,
        pairs_lagged.n_out = 1
        and pairs_lagged.previous_n_out = 1
        and pairs_lagged.out_amount = pairs_lagged.previous_out_amount
        and pairs_lagged.previous_period
        = (date_trunc('month', pairs_lagged.period) - interval '1 day')::date as is_repeat_payout,
        counterparty.customer_type = '个人' as counterparty_is_individual,
        counterparty.holder_birth_date
        <= (pairs_lagged.period - make_interval(years => {{ var('flow_elderly_age') }}))::date
            as counterparty_is_elderly
    from pairs_lagged
    left join accounts as counterparty
        on
            pairs_lagged.counterparty_institution_code = counterparty.institution_code
            and pairs_lagged.counterparty_account = counterparty.account_no
    where pairs_lagged.counterparty_account <> ''
),

account_months as (
    select distinct
        institution_code,
        account_no,
        period
    from pairs_flagged
    where
        n_in > 0
        {% if is_incremental() %}
        and period >= (select first_new_period.period from first_new_period)
        {% endif %}
),

-- Every pair-month inside each account-month's trailing window.
windowed as (
    select
        account_months.institution_code,
        account_months.account_no,
        account_months.period,
        pairs_flagged.counterparty_institution_code,
        pairs_flagged.counterparty_account,
        pairs_flagged.n_in,
        pairs_flagged.in_amount,
        pairs_flagged.n_in_round,
        pairs_flagged.n_in_keyword,
        pairs_flagged.n_out,
        pairs_flagged.out_amount,
        pairs_flagged.is_repeat_payout,
        pairs_flagged.counterparty_is_individual,
        pairs_flagged.counterparty_is_elderly,
        pairs_flagged.example_in_txn_id,
        pairs_flagged.example_out_txn_id,
        pairs_flagged.source_batch_id
    from account_months
    inner join pairs_flagged
        on
            account_months.institution_code = pairs_flagged.institution_code
            and account_months.account_no = pairs_flagged.account_no
            and account_months.period >= pairs_flagged.period
            and pairs_flagged.period > (
                account_months.period - make_interval(months => {{ var('flow_window_months') }})
            )
),

per_counterparty as (
    select
        institution_code,
        account_no,
        period,
        counterparty_institution_code,
        counterparty_account,
        sum(n_in) as n_in,
        sum(in_amount) as in_amount,
        sum(n_in_round) as n_in_round,
        sum(n_in_keyword) as n_in_keyword,
        sum(n_out) as n_out,
        sum(out_amount) as out_amount,
        bool_or(is_repeat_payout) as has_repeat_payout,
        bool_or(counterparty_is_individual) as is_individual,
        bool_or(counterparty_is_elderly) as is_elderly,
        min(example_in_txn_id) as example_in_txn_id,
        min(example_out_txn_id) as example_out_txn_id,
        max(source_batch_id) as source_batch_id,
        row_number() over (
            partition by institution_code, account_no, period
            order by sum(out_amount) desc, counterparty_institution_code asc, counterparty_account asc
        ) as payee_rank
    from windowed
    group by institution_code, account_no, period, counterparty_institution_code, counterparty_account
),

final as (
    select
        institution_code,
        account_no,
        period,
        count(*) filter (where n_in > 0) as payers,
        count(*) filter (where n_in > 0 and is_individual) as individual_payers,
        count(*) filter (where n_in > 0 and is_elderly) as elderly_payers,
        sum(n_in) as inflow_count,
        sum(in_amount) as inflow_amount,
        sum(n_in_round) as round_inflow_count,
        sum(n_in_keyword) as keyword_inflow_count,
        sum(out_amount) as outflow_amount,
        coalesce(sum(out_amount) filter (
            where payee_rank <= {{ var('flow_max_concentrated_payees') }} and n_in = 0
        ), 0) as concentrated_outflow_amount,
        count(*) filter (where n_in > 0 and has_repeat_payout) as repaid_investors,
        (array_agg(example_in_txn_id order by in_amount desc) filter (where n_in > 0))[1:5]
            as example_inflow_txn_ids,
        (array_agg(example_out_txn_id order by out_amount desc) filter (where n_out > 0))[1:5]
            as example_outflow_txn_ids,
        max(source_batch_id) as source_batch_id
    from per_counterparty
    group by institution_code, account_no, period
)

select * from final
