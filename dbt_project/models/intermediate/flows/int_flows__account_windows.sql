{{ config(
    materialized='incremental',
    unique_key=['institution_code', 'account_no', 'period'],
    incremental_strategy='period_delete_insert',
    on_schema_change='append_new_columns',
    post_hook=["{{ ensure_index(this, 'source_batch_id') }}", "{{ ensure_index(this, 'period') }}"],
) }}
{%- set w = var('flow_window_months') | int %}
{%- set gap = var('flow_payout_max_gap_months') | int %}
-- Flow features per receiving account and month over a trailing window of var('flow_window_months') calendar
-- months (the period's own month included; macro month_gap, never interval arithmetic on month ends). Counts
-- before amounts, so a scheme does not hide by writing odd amounts or by being a small share of a busy account:
-- distinct payers and payees, new payers (no inflow in the window's own length before it), individual, elderly and
-- cross-institution payers, inflow and outflow concentration (HHI by count and by amount), pass-through (the part
-- of each month's inflow that left the same month), round and purpose-keyword inflows, payers whose inflow is
-- large for the month (a quantile, not yuan), equal payouts back to payers (exact, and within a tolerance after a
-- gap of up to var('flow_payout_max_gap_months') months), new conduit payers (new payers that paid in one
-- month of the window and passed on to this account most of what they received and paid out that month; plus the
-- fresh sources that paid at least the month's var('flow_fresh_source_min_quantile') quantile of inflows, when the
-- window has at least var('flow_fresh_source_min_payers') of them), fresh sources (fresh_source_payers: accounts
-- first seen that month, after their institution's first month, that paid this account most of what they paid out
-- with money that did not come from an account in the data), and the payers of an account new to the data
-- (new_account_payers: first seen inside the window, after its institution's first month; evidence only). One row
-- per account-month in which the account received money from a known counterparty account. Peer percentiles and
-- scores: int_flows__account_scores.
-- Incremental by period: months with newer counterparty-month rows (from the first of them, F) are
-- recomputed. Their windows reach back to F's month minus w - 1; the pair-months there need the pair's
-- previous inflow month if it is less than 2w months before the window's month (new payers) and its previous
-- month if it is at most the payout gap before (payouts): so the pairs are read from F's month minus
-- max(2w - 1, w - 1 + gap) on (an earlier month cannot change a recomputed row), and only the pair-months
-- from F's month minus w - 1 on are flagged (joined to their month's quantiles, the payers' totals and the
-- counterparty accounts). Both bounds are dates (initplans), so the scan compares the column, not a
-- function of it. Example transactions are ordered by amount, then id: ties in amount would otherwise make
-- two builds of the same month differ.
with

{% if is_incremental() %}
{{ first_new_period_cte(ref('int_flows__counterparty_months')) }}

read_back as (
    select
        (
            date_trunc('month', first_new_period.period)
            - make_interval(months => {{ [2 * w - 1, w - 1 + gap] | max }})
        )::date as pairs_from,
        (date_trunc('month', first_new_period.period) - make_interval(months => {{ w - 1 }}))::date as window_from
    from first_new_period
),
{% endif %}

-- not materialized: read again by each CTE below (a scan of the table), not spilled to a ~180 MB temporary store
pairs as not materialized (
    select * from {{ ref('int_flows__counterparty_months') }}
    {% if is_incremental() %}
    where period >= (select read_back.pairs_from from read_back)
    {% endif %}
),

accounts as (
    select * from {{ ref('int_entities__accounts_latest') }}
),

-- A "large" inflow is large for its month, not in yuan: at or above the var('flow_large_inflow_quantile')
-- quantile of every account's inflow from one counterparty in that month.
large_inflow as (
    select
        period,
        percentile_cont({{ var('flow_large_inflow_quantile') }}) within group (order by in_amount) as min_amount,
        percentile_cont({{ var('flow_fresh_source_min_quantile') }}) within group (order by in_amount)
            as min_fresh_source_amount
    from pairs
    where
        n_in > 0 and counterparty_account <> ''
        {% if is_incremental() %}
        and period >= (select read_back.window_from from read_back)
        {% endif %}
    group by period
),

-- Each account's own inflow and outflow per month (every counterparty, known or not): a payer that passed
-- on to this account most of what it received that month, and sent it most of what it paid out, is a
-- conduit (2-hop pass-through: a mule feeding a collector; a household pays a utility a small part of its
-- month). Shares, not yuan: var('flow_conduit_share').
month_totals as (
    select
        institution_code,
        account_no,
        period,
        sum(in_amount) as in_amount,
        sum(out_amount) as out_amount
    from pairs
    {% if is_incremental() %}
    where period >= (select read_back.window_from from read_back)
    {% endif %}
    group by institution_code, account_no, period
),

-- When each account was first seen in the data (its first month with any transaction, in or out, over every
-- month loaded, not only the months read back: int_flows__account_first_seen, incremental, one row per account)
-- and when its institution's data starts: an account first seen after its institution's first month is new to the
-- data (the import carries no opening date). A collector opened for a scheme is paid by many as soon as it
-- appears; a payer that appears the month it pays, with money that did not come from an account in the data, is a
-- fresh source (a one-off account fed in cash).
first_seen as (
    select
        institution_code,
        account_no,
        first_period
    from {{ ref('int_flows__account_first_seen') }}
),

institution_start as (
    select
        institution_code,
        min(first_period) as first_period
    from first_seen
    group by institution_code
),

payer_months as (
    select
        month_totals.*,
        first_seen.first_period,
        institution_start.first_period as institution_first_period
    from month_totals
    inner join first_seen
        on
            month_totals.institution_code = first_seen.institution_code
            and month_totals.account_no = first_seen.account_no
    inner join institution_start on month_totals.institution_code = institution_start.institution_code
),

-- A payout repeats when the same amount went to the same counterparty in the previous month (exact),
-- or an amount within the tolerance after a gap of one to var('flow_payout_max_gap_months') months.
pairs_lagged as (
    select
        pairs.*,
        lag(pairs.period) over cp as previous_period,
        lag(pairs.out_amount) over cp as previous_out_amount,
        lag(pairs.n_out) over cp as previous_n_out,
        max(pairs.period) filter (where pairs.n_in > 0) over (
            cp rows between unbounded preceding and 1 preceding
        ) as previous_in_period
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
        coalesce(
            pairs_lagged.n_out = 1
            and pairs_lagged.previous_n_out = 1
            and pairs_lagged.out_amount = pairs_lagged.previous_out_amount
            and {{ month_gap('pairs_lagged.period', 'pairs_lagged.previous_period') }} = 1,
            false
        ) as is_repeat_payout,
        coalesce(
            pairs_lagged.n_out = 1
            and pairs_lagged.previous_n_out = 1
            and abs(pairs_lagged.out_amount - pairs_lagged.previous_out_amount)
            <= {{ var('flow_payout_tolerance') }} * pairs_lagged.previous_out_amount
            and {{ month_gap('pairs_lagged.period', 'pairs_lagged.previous_period') }} between 1 and {{ gap }},
            false
        ) as is_periodic_payout,
        pairs_lagged.previous_in_period as previous_in_period_of_pair,
        {{ month_index('pairs_lagged.period') }} as month_index,
        counterparty.customer_type = '个人' as counterparty_is_individual,
        counterparty.holder_birth_date
        <= (pairs_lagged.period - make_interval(years => {{ var('flow_elderly_age') }}))::date
            as counterparty_is_elderly,
        pairs_lagged.counterparty_institution_code <> pairs_lagged.institution_code as counterparty_is_elsewhere,
        pairs_lagged.n_in > 0 and pairs_lagged.in_amount >= large_inflow.min_amount as is_large_inflow,
        coalesce(
            pairs_lagged.n_in > 0
            and payer_totals.in_amount > 0
            and pairs_lagged.in_amount >= {{ var('flow_conduit_share') }} * payer_totals.in_amount
            and pairs_lagged.in_amount >= {{ var('flow_conduit_share') }} * payer_totals.out_amount,
            false
        ) as is_conduit_inflow,
        coalesce(
            pairs_lagged.n_in > 0
            and payer_totals.first_period = pairs_lagged.period
            and payer_totals.first_period > payer_totals.institution_first_period
            and pairs_lagged.in_amount >= {{ var('flow_conduit_share') }} * payer_totals.out_amount
            and payer_totals.in_amount < {{ var('flow_conduit_share') }} * pairs_lagged.in_amount,
            false
        ) as is_fresh_source_inflow,
        pairs_lagged.n_in > 0 and pairs_lagged.in_amount >= large_inflow.min_fresh_source_amount
            as is_fresh_source_sized,
        coalesce(pairs_lagged.period > own_start.first_period, false) as is_after_institution_start
    from pairs_lagged
    left join large_inflow on pairs_lagged.period = large_inflow.period
    left join institution_start as own_start on pairs_lagged.institution_code = own_start.institution_code
    left join payer_months as payer_totals
        on
            pairs_lagged.counterparty_institution_code = payer_totals.institution_code
            and pairs_lagged.counterparty_account = payer_totals.account_no
            and pairs_lagged.period = payer_totals.period
    left join accounts as counterparty
        on
            pairs_lagged.counterparty_institution_code = counterparty.institution_code
            and pairs_lagged.counterparty_account = counterparty.account_no
    where
        pairs_lagged.counterparty_account <> ''
        {% if is_incremental() %}
        -- after the look-back's lag windows: only the months a recomputed window reaches
        and pairs_lagged.period >= (select read_back.window_from from read_back)
        {% endif %}
    -- a fence: planned on its own (its lookups joined to the ~0.9M pair-months, not to the window's ~1.5M rows,
    -- where the planner's row estimates collapse and it chose nested loops)
    offset 0  -- noqa: AM09
),

account_months as (
    select distinct
        institution_code,
        account_no,
        period,
        {{ month_index('period') }} as month_index
    from pairs
    where
        n_in > 0
        and counterparty_account <> ''
        {% if is_incremental() %}
        and period >= (select first_new_period.period from first_new_period)
        {% endif %}
),

-- The w months of each account-month's trailing window, as month numbers, so that the join below is an
-- equi-join on three columns (materialized: inlined, the planner joined on the account alone and filtered
-- the month, 37 million rows thrown away on `small`).
window_months as materialized (
    select
        account_months.institution_code,
        account_months.account_no,
        account_months.period,
        account_months.month_index - window_offset.months as pair_month_index
    from account_months
    cross join generate_series(0, {{ w - 1 }}) as window_offset (months)
),

-- Every pair-month inside each account-month's trailing window of calendar months: an equi-join on the
-- account and the month number (window_months), not an account's every month joined to its every
-- pair-month and filtered.
windowed as (
    select
        account_months.institution_code,
        account_months.account_no,
        account_months.period,
        pairs_flagged.period as pair_period,
        pairs_flagged.counterparty_institution_code,
        pairs_flagged.counterparty_account,
        pairs_flagged.n_in,
        pairs_flagged.in_amount,
        pairs_flagged.n_in_round,
        pairs_flagged.n_in_keyword,
        pairs_flagged.n_out,
        pairs_flagged.out_amount,
        pairs_flagged.n_out_payout_keyword,
        pairs_flagged.is_repeat_payout,
        pairs_flagged.is_periodic_payout,
        pairs_flagged.n_in > 0
        and (
            pairs_flagged.previous_in_period_of_pair is null
            or {{ month_gap('account_months.period', 'pairs_flagged.previous_in_period_of_pair') }} >= {{ 2 * w }}
        ) as is_new_payer_month,
        -- known to be new: no earlier inflow of the pair and the pair-month after the institution's first month (in
        -- that month every payer is "new": the data has no earlier month to have seen it in), or a long gap
        pairs_flagged.n_in > 0
        and (
            (pairs_flagged.previous_in_period_of_pair is null and pairs_flagged.is_after_institution_start)
            or {{ month_gap('account_months.period', 'pairs_flagged.previous_in_period_of_pair') }} >= {{ 2 * w }}
        ) as is_known_new_payer_month,
        pairs_flagged.counterparty_is_individual,
        pairs_flagged.counterparty_is_elderly,
        pairs_flagged.counterparty_is_elsewhere,
        pairs_flagged.is_large_inflow,
        pairs_flagged.is_conduit_inflow,
        pairs_flagged.is_fresh_source_inflow,
        pairs_flagged.is_fresh_source_inflow and pairs_flagged.is_fresh_source_sized as is_sized_fresh_source_inflow,
        pairs_flagged.example_in_txn_id,
        pairs_flagged.example_out_txn_id,
        pairs_flagged.source_batch_id
    from window_months as account_months
    inner join pairs_flagged
        on
            account_months.institution_code = pairs_flagged.institution_code
            and account_months.account_no = pairs_flagged.account_no
            and account_months.pair_month_index = pairs_flagged.month_index
),

-- Per account and month (the pair-months' grain, before the window multiplies them): how much of the month's
-- inflow left the account the same month, and its payers that month.
account_month_flows as (
    select
        institution_code,
        account_no,
        {{ month_index('period') }} as month_index,
        least(sum(in_amount), sum(out_amount)) as passed_through_amount,
        count(*) filter (where n_in > 0) as month_payers
    from pairs
    where
        counterparty_account <> ''
        {% if is_incremental() %}
        -- only the months some recomputed window reaches, not every month read back for the look-backs
        and period >= (select read_back.window_from from read_back)
        {% endif %}
    group by institution_code, account_no, {{ month_index('period') }}
),

-- Summed over the months of each account-month's window (the months with a pair-month, as in windowed): the
-- passed-through amount, and for the payer surge the account's payers in the month itself against its payers in
-- each earlier month of the window (a collector is paid by many at once; a shop, a landlord or a utility is paid
-- by about as many every month). Counted per month of the window here; the ratio is taken in the final select.
window_flows as (
    select
        window_months.institution_code,
        window_months.account_no,
        window_months.period,
        sum(account_month_flows.passed_through_amount) as passed_through_amount,
        coalesce(sum(account_month_flows.month_payers) filter (
            where account_month_flows.month_index = {{ month_index('window_months.period') }}
        ), 0) as month_payers,
        coalesce(sum(account_month_flows.month_payers) filter (
            where account_month_flows.month_index < {{ month_index('window_months.period') }}
        ), 0) as earlier_month_payers
    from window_months
    inner join account_month_flows
        on
            window_months.institution_code = account_month_flows.institution_code
            and window_months.account_no = account_month_flows.account_no
            and window_months.pair_month_index = account_month_flows.month_index
    group by window_months.institution_code, window_months.account_no, window_months.period
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
        sum(n_out_payout_keyword) as n_out_payout_keyword,
        bool_or(is_repeat_payout) as has_repeat_payout,
        bool_or(is_periodic_payout) as has_periodic_payout,
        bool_or(is_new_payer_month) as is_new_payer,
        coalesce(bool_or(is_known_new_payer_month), false) as is_known_new_payer,
        bool_or(counterparty_is_individual) as is_individual,
        bool_or(counterparty_is_elderly) as is_elderly,
        bool_or(counterparty_is_elsewhere) as is_elsewhere,
        bool_or(is_large_inflow) as is_large_payer,
        bool_or(is_conduit_inflow and is_new_payer_month)
        and count(distinct pair_period) filter (where n_in > 0) = 1 as is_new_conduit_payer,
        bool_or(is_fresh_source_inflow) as is_fresh_source_payer,
        coalesce(bool_or(is_sized_fresh_source_inflow), false) as is_sized_fresh_source_payer,
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
        per_counterparty.institution_code,
        per_counterparty.account_no,
        per_counterparty.period,
        count(*) filter (where per_counterparty.n_in > 0) as payers,
        count(*) filter (where per_counterparty.n_in > 0 and per_counterparty.is_individual) as individual_payers,
        count(*) filter (where per_counterparty.n_in > 0 and per_counterparty.is_elderly) as elderly_payers,
        sum(per_counterparty.n_in) as inflow_count,
        sum(per_counterparty.in_amount) as inflow_amount,
        sum(per_counterparty.n_in_round) as round_inflow_count,
        sum(per_counterparty.n_in_keyword) as keyword_inflow_count,
        sum(per_counterparty.out_amount) as outflow_amount,
        coalesce(sum(per_counterparty.out_amount) filter (
            where per_counterparty.payee_rank <= {{ var('flow_max_concentrated_payees') }} and per_counterparty.n_in = 0
        ), 0) as concentrated_outflow_amount,
        count(*) filter (where per_counterparty.n_in > 0 and per_counterparty.has_repeat_payout) as repaid_investors,
        count(*) filter (where per_counterparty.n_out > 0) as payees,
        sum(per_counterparty.n_out) as outflow_count,
        count(*) filter (where per_counterparty.n_in > 0 and per_counterparty.is_new_payer) as new_payers,
        count(*) filter (where per_counterparty.n_in > 0 and per_counterparty.is_known_new_payer) as known_new_payers,
        count(*) filter (where per_counterparty.n_in > 0 and per_counterparty.is_elsewhere) as elsewhere_payers,
        count(*) filter (where per_counterparty.is_large_payer) as large_payers,
        count(*) filter (where per_counterparty.is_large_payer and per_counterparty.is_individual)
            as large_individual_payers,
        -- fresh sources that paid at least the month's var('flow_fresh_source_min_quantile') quantile of inflows count
        -- as conduits where the window has at least var('flow_fresh_source_min_payers') of them: a collector fed by
        -- one-off accounts, not a shop whose one-off customers make small purchases
        count(*) filter (where per_counterparty.is_new_conduit_payer)
        + case
            when
                count(*) filter (where per_counterparty.is_sized_fresh_source_payer)
                >= {{ var('flow_fresh_source_min_payers') }}
                then count(*) filter (
                    where per_counterparty.is_sized_fresh_source_payer and not per_counterparty.is_new_conduit_payer
                )
            else 0
        end as new_conduit_payers,
        count(*) filter (where per_counterparty.is_fresh_source_payer) as fresh_source_payers,
        count(*) filter (where per_counterparty.has_periodic_payout) as periodic_payees,
        count(*) filter (
            where per_counterparty.n_in > 0 and per_counterparty.has_periodic_payout
        ) as periodic_repaid_payers,
        sum(per_counterparty.n_out_payout_keyword) as payout_keyword_count,
        sum(per_counterparty.n_in * per_counterparty.n_in)::numeric
        / nullif(sum(per_counterparty.n_in), 0) ^ 2 as inflow_hhi_count,
        sum(per_counterparty.in_amount * per_counterparty.in_amount)::numeric
        / nullif(sum(per_counterparty.in_amount), 0) ^ 2 as inflow_hhi_amount,
        sum(per_counterparty.n_out * per_counterparty.n_out)::numeric
        / nullif(sum(per_counterparty.n_out), 0) ^ 2 as outflow_hhi_count,
        sum(per_counterparty.out_amount * per_counterparty.out_amount)::numeric
        / nullif(sum(per_counterparty.out_amount), 0) ^ 2 as outflow_hhi_amount,
        (array_agg(
            per_counterparty.example_in_txn_id
            order by per_counterparty.in_amount desc, per_counterparty.example_in_txn_id asc
        ) filter (
            where per_counterparty.n_in > 0
        ))[1:5] as example_inflow_txn_ids,
        (array_agg(
            per_counterparty.example_out_txn_id
            order by per_counterparty.out_amount desc, per_counterparty.example_out_txn_id asc
        ) filter (
            where per_counterparty.n_out > 0
        ))[1:5] as example_outflow_txn_ids,
        max(per_counterparty.source_batch_id) as source_batch_id
    from per_counterparty
    group by per_counterparty.institution_code, per_counterparty.account_no, per_counterparty.period
)

select
    final.*,
    window_flows.passed_through_amount / nullif(final.inflow_amount, 0) as pass_through_share,
    account_seen.first_period as first_seen_period,
    -- payers of an account new to the data (first seen inside this window, after its institution's first month)
    case
        when
            account_seen.first_period > account_start.first_period
            and {{ month_gap('final.period', 'account_seen.first_period') }} < {{ w }}
            then final.payers
        else 0
    end as new_account_payers,
    -- payers in the month itself over one plus the mean payers of the window's earlier months inside the
    -- institution's data (a count of pair-months: a payer paying in two earlier months counts in both); 0 in the
    -- institution's first month, where there is no earlier month to compare with
    case
        when {{ w }} > 1 and {{ month_gap('final.period', 'account_start.first_period') }} >= 1
            then window_flows.month_payers::float8 / (
                1 + window_flows.earlier_month_payers::float8
                / greatest(1, least({{ w - 1 }}, {{ month_gap('final.period', 'account_start.first_period') }}))
            )
        else 0::float8
    end as payer_surge
from final
left join window_flows
    on
        final.institution_code = window_flows.institution_code
        and final.account_no = window_flows.account_no
        and final.period = window_flows.period
left join first_seen as account_seen
    on
        final.institution_code = account_seen.institution_code
        and final.account_no = account_seen.account_no
left join institution_start as account_start on final.institution_code = account_start.institution_code
