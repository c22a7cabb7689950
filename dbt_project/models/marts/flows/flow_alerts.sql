-- Suspected illegal-fundraising flows (#12): the top of a ranked queue, not the output of hard gates.
-- Every account-month is scored per typology (int_flows__account_scores: collection, periodic payouts, fan-in
-- collector, pass-through mule, fan-in fed by conduits, payer surge) from peer percentiles of its flow signals;
-- each bureau receives its var('flow_alert_capacity') best-scored eligible account-months per month. Every alert
-- carries its evidence: its top typology, the raw value and peer percentile of every signal any typology weighs
-- (var('flow_weights')), and example transactions.
-- The queue itself (ranking, evidence) is int_flows__alert_queue, incremental by month; this table adds to its
-- rows (a few per bureau and month) what changes without a new month: the holder (int_entities__accounts_latest),
-- the account model's latest ML score (every scoring run), the traceability batches (a resubmission).
{#- sqlfluff's templater has no dbt vars (var() is a stand-in there): lint with a one-signal stand-in -#}
{%- set weights = var('flow_weights') if var('flow_weights') is mapping else {'collection': {'payers': 1}} %}
with

queue as (
    select * from {{ ref('int_flows__alert_queue') }}
),

accounts as (
    select * from {{ ref('int_entities__accounts_latest') }}
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

-- the account model's latest score of each account (ml.risk_scores, entity_type 'account'), when scored
account_scores as (
    select * from {{ ref('stg_ml__latest_risk_scores') }}
    where entity_type = 'account'
),

final as (
    select
        queue.alert_id,
        queue.institution_code,
        queue.bureau_code,
        queue.account_no,
        accounts.customer_type as holder_type,
        accounts.holder_uscc,
        accounts.holder_firm_name,
        accounts.status as account_status,
        queue.period,
        queue.queue_rank,
        queue.flow_score,
        queue.top_typology,
        {% for typology in weights %}
        queue.score_{{ typology }},
        {% endfor %}
        queue.payers,
        queue.individual_payers,
        queue.elderly_payers,
        queue.new_payers,
        queue.individual_share,
        queue.elderly_share,
        queue.inflow_count,
        queue.inflow_amount,
        queue.round_share,
        queue.keyword_share,
        queue.outflow_amount,
        queue.concentrated_outflow_amount,
        queue.concentrated_outflow_share,
        queue.repaid_investors,
        queue.periodic_repaid_payers,
        queue.pass_through,
        queue.upstream_payers,
        queue.evidence,
        account_scores.risk_probability as account_risk_probability,
        account_scores.risk_warning_level as account_risk_warning_level,
        queue.example_inflow_txn_ids,
        queue.example_outflow_txn_ids,
        queue.window_months,
        array(
            select transaction_batches.batch_id
            from transaction_batches
            where
                transaction_batches.institution_code = queue.institution_code
                and transaction_batches.period <= queue.period
                and transaction_batches.period >= (
                    date_trunc('month', queue.period) - make_interval(months => {{ var('flow_window_months') }} - 1)
                )::date
            order by transaction_batches.batch_id
        ) as source_batch_ids
    from queue
    left join accounts
        on
            queue.institution_code = accounts.institution_code
            and queue.account_no = accounts.account_no
    left join account_scores
        on queue.institution_code || ':' || queue.account_no = account_scores.entity_id
)

select * from final
