-- Suspected illegal-fundraising flows (#12): the top of a ranked queue, not the output of hard gates.
-- Every account-month is scored per typology (int_flows__account_scores: collection, periodic payouts, fan-in
-- collector, pass-through mule, fan-in fed by conduits, payer surge) from peer percentiles of its flow signals;
-- each bureau receives its var('flow_alert_capacity') best-scored eligible account-months per month. Every alert
-- carries its evidence: its top typology, the raw value and peer percentile of every signal any typology weighs
-- (var('flow_weights')), and example transactions.
{#- sqlfluff's templater has no dbt vars (var() is a stand-in there): lint with a one-signal stand-in -#}
{%- set weights = var('flow_weights') if var('flow_weights') is mapping else {'collection': {'payers': 1}} %}
{%- set signals = [] %}
{%- for ws in weights.values() %}{% for s in ws if s not in signals %}{% do signals.append(s) %}{% endfor %}{% endfor %}
with

scores as (
    select * from {{ ref('int_flows__account_scores') }}
    where is_eligible
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

-- Ties of flow_score at a bureau's capacity are common (percentile scores: in ~1/3 of bureau-months on small/7
-- the last place is shared). They are broken by what the account-month shows (its other typology scores, its
-- inflow, its payers), not by account_no: that is a token under each installation's own key, so breaking ties
-- by it alerted other accounts, and gave the firm model other red-flag counts, on another installation of the
-- same data (bench/README.md, "Early-warning models"). account_no stays last for rows equal in all of these.
ranked as (
    select
        scores.*,
        row_number() over (
            partition by scores.bureau_code, scores.period
            order by
                scores.flow_score desc,
                ({% for typology in weights %}scores.score_{{ typology }}{{ ' + ' if not loop.last }}{% endfor %}) desc,
                scores.inflow_amount desc nulls last,
                scores.payers desc nulls last,
                scores.institution_code asc,
                scores.account_no asc
        ) as queue_rank
    from scores
),

final as (
    select
        ranked.institution_code || ':' || ranked.account_no || ':' || ranked.period as alert_id,
        ranked.institution_code,
        ranked.bureau_code,
        ranked.account_no,
        accounts.customer_type as holder_type,
        accounts.holder_uscc,
        accounts.holder_firm_name,
        accounts.status as account_status,
        ranked.period,
        ranked.queue_rank,
        round(ranked.flow_score::numeric, 4) as flow_score,
        ranked.top_typology,
        {% for typology in weights %}
        round(ranked.score_{{ typology }}::numeric, 4) as score_{{ typology }},
        {% endfor %}
        ranked.payers,
        ranked.individual_payers,
        ranked.elderly_payers,
        ranked.new_payers,
        round(ranked.individual_share::numeric, 4) as individual_share,
        round(ranked.elderly_share::numeric, 4) as elderly_share,
        ranked.inflow_count,
        ranked.inflow_amount,
        round(ranked.round_share::numeric, 4) as round_share,
        round(ranked.keyword_share::numeric, 4) as keyword_share,
        ranked.outflow_amount,
        ranked.concentrated_outflow_amount,
        round(ranked.concentrated_outflow_amount / nullif(ranked.inflow_amount, 0), 4) as concentrated_outflow_share,
        ranked.repaid_investors,
        ranked.periodic_repaid_payers,
        round(ranked.pass_through::numeric, 4) as pass_through,
        ranked.upstream_payers,
        jsonb_build_object(
            {% for s in signals %}
            '{{ s }}', jsonb_build_object(
                'value', ranked.{{ s }},
                'peer_percentile', round(ranked.pr_{{ s }}::numeric, 3)
            ),
            {% endfor %}
            'top_typology', ranked.top_typology
        ) as evidence,
        account_scores.risk_probability as account_risk_probability,
        account_scores.risk_warning_level as account_risk_warning_level,
        ranked.example_inflow_txn_ids,
        ranked.example_outflow_txn_ids,
        {{ var('flow_window_months') }} as window_months,
        array(
            select transaction_batches.batch_id
            from transaction_batches
            where
                transaction_batches.institution_code = ranked.institution_code
                and transaction_batches.period <= ranked.period
                and transaction_batches.period >= (
                    date_trunc('month', ranked.period) - make_interval(months => {{ var('flow_window_months') }} - 1)
                )::date
            order by transaction_batches.batch_id
        ) as source_batch_ids
    from ranked
    left join accounts
        on
            ranked.institution_code = accounts.institution_code
            and ranked.account_no = accounts.account_no
    left join account_scores
        on ranked.institution_code || ':' || ranked.account_no = account_scores.entity_id
    where ranked.queue_rank <= {{ var('flow_alert_capacity') }}
)

select * from final
