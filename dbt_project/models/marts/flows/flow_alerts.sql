-- Suspected illegal-fundraising flows: one alert per receiving account and month whose trailing window
-- matches the typology (dbt vars flow_*): scattered inflows from many individuals in round units or
-- with investment purposes, AND either equal payouts back to the payers in consecutive months or the
-- money moving on to a few accounts. Every alert carries its evidence.
with

windows as (
    select * from {{ ref('int_flows__account_windows') }}
),

accounts as (
    select * from {{ ref('int_entities__accounts_latest') }}
),

institutions as (
    select * from {{ ref('int_entities__institutions') }}
),

submissions as (
    select * from {{ source('ops', 'submission') }}
),

batches as (
    select * from {{ source('ops', 'batch') }}
),

-- traceability (#16): the accepted transaction batches of the alert's institution in its window
transaction_batches as (
    select
        submissions.institution_code,
        submissions.period,
        batches.batch_id
    from batches
    inner join submissions on batches.submission_id = submissions.submission_id
    where batches.dataset = 'transaction' and batches.status = 'accepted'
),

scored as (
    select
        windows.*,
        windows.individual_payers::numeric / nullif(windows.payers, 0) as individual_share,
        windows.elderly_payers::numeric / nullif(windows.payers, 0) as elderly_share,
        windows.round_inflow_count::numeric / nullif(windows.inflow_count, 0) as round_share,
        windows.keyword_inflow_count::numeric / nullif(windows.inflow_count, 0) as keyword_share,
        windows.concentrated_outflow_amount / nullif(windows.inflow_amount, 0) as concentrated_outflow_share
    from windows
),

rules as (
    select
        scored.*,
        scored.payers >= {{ var('flow_min_payers') }}
        and scored.individual_share >= {{ var('flow_min_individual_share') }} as rule_scattered_individuals,
        scored.round_share >= {{ var('flow_min_round_share') }}
        or scored.keyword_share >= {{ var('flow_min_keyword_share') }} as rule_investment_inflows,
        scored.repaid_investors >= {{ var('flow_min_repaid_investors') }} as rule_periodic_payouts,
        coalesce(scored.concentrated_outflow_share, 0) >= {{ var('flow_min_concentrated_share') }}
            as rule_concentrated_outflows
    from scored
),

final as (
    select
        rules.institution_code || ':' || rules.account_no || ':' || rules.period as alert_id,
        rules.institution_code,
        institutions.bureau_code,
        rules.account_no,
        accounts.customer_type as holder_type,
        accounts.holder_uscc,
        accounts.holder_firm_name,
        accounts.status as account_status,
        rules.period,
        rules.payers,
        rules.individual_payers,
        rules.elderly_payers,
        rules.individual_share,
        rules.elderly_share,
        rules.inflow_count,
        rules.inflow_amount,
        rules.round_share,
        rules.keyword_share,
        rules.outflow_amount,
        rules.concentrated_outflow_amount,
        rules.concentrated_outflow_share,
        rules.repaid_investors,
        rules.rule_scattered_individuals,
        rules.rule_investment_inflows,
        rules.rule_periodic_payouts,
        rules.rule_concentrated_outflows,
        rules.example_inflow_txn_ids,
        rules.example_outflow_txn_ids,
        {{ var('flow_window_months') }} as window_months,
        array(
            select transaction_batches.batch_id
            from transaction_batches
            where
                transaction_batches.institution_code = rules.institution_code
                and transaction_batches.period <= rules.period
                and transaction_batches.period >= (
                    date_trunc('month', rules.period) - make_interval(months => {{ var('flow_window_months') }} - 1)
                )::date
            order by transaction_batches.batch_id
        ) as source_batch_ids
    from rules
    left join accounts
        on
            rules.institution_code = accounts.institution_code
            and rules.account_no = accounts.account_no
    left join institutions on rules.institution_code = institutions.institution_code
    where
        rules.rule_scattered_individuals
        and rules.rule_investment_inflows
        and (rules.rule_periodic_payouts or rules.rule_concentrated_outflows)
)

select * from final
