{{ config(
    materialized='incremental',
    unique_key=['period'],
    incremental_strategy='period_delete_insert',
    on_schema_change='append_new_columns',
) }}
-- The flow alert queue (#12), the part of flow_alerts that depends on the month's account scores only: each
-- bureau's var('flow_alert_capacity') best-scored eligible account-months per month (int_flows__account_scores),
-- ranked, with their evidence. flow_alerts adds what changes without a new month (the holder from
-- int_entities__accounts_latest, the account model's latest ML score, the traceability batches).
-- Incremental by period: a month's queue ranks that month's scores only, so a build recomputes the months from
-- the earliest period of int_flows__account_scores with a source_batch_id newer than the stored
-- `built_batch_id` (the highest source_batch_id of the scores it was built from: an index look-up), the months
-- the scores recomputed, and leaves earlier months alone. When flow_alerts ranked the whole table each build it
-- took 1.49 s on `small`'s first incremental month and 4.26 s after four times the history (bench/README.md,
-- "flow_alerts and firm_month_training incremental").
{#- sqlfluff's templater has no dbt vars (var() is a stand-in there): lint with a one-signal stand-in -#}
{%- set weights = var('flow_weights') if var('flow_weights') is mapping else {'collection': {'payers': 1}} %}
{%- set signals = [] %}
{%- for ws in weights.values() %}{% for s in ws if s not in signals %}{% do signals.append(s) %}{% endfor %}{% endfor %}
with

{% if is_incremental() %}
{{ first_new_period_cte(ref('int_flows__account_scores'), built_column='built_batch_id') }}
{% endif %}

scores as (
    select * from {{ ref('int_flows__account_scores') }}
    where
        is_eligible
        {% if is_incremental() %}
        and period >= (select first_new_period.period from first_new_period)
        {% endif %}
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
        ranked.example_inflow_txn_ids,
        ranked.example_outflow_txn_ids,
        {{ var('flow_window_months') }} as window_months,
        (select max(built_from.source_batch_id) from {{ ref('int_flows__account_scores') }} as built_from)
            as built_batch_id
    from ranked
    where ranked.queue_rank <= {{ var('flow_alert_capacity') }}
)

select * from final
