{{ config(
    materialized='incremental',
    unique_key=['institution_code', 'period'],
    incremental_strategy='period_delete_insert',
    on_schema_change='fail',
    indexes=[{'columns': ['account_no', 'period']}],
    post_hook=["{{ ensure_index(this, 'source_batch_id') }}", "{{ ensure_index(this, 'period') }}"],
) }}
-- depends_on: {{ source('ops', 'batch') }}, {{ source('ops', 'submission') }}
-- Transactions summarised per (account, counterparty institution and account, month): the grain on which every flow
-- pattern is computed, far smaller than the transactions themselves. Incremental by period: only
-- (institution, month) pairs with an accepted transaction batch newer than the last build are recomputed
-- (listed from ops.batch at compile time, macro new_batch_periods, so only their period partitions of
-- raw.transaction are read), and a resubmitted month replaces its rows.
with

transactions as (
    select * from {{ ref('stg_submissions__transactions') }}
    {% if is_incremental() %}
    where {{ new_batch_period_filter(new_batch_periods('transaction', this)) }}
    {% endif %}
),

classified as (
    select
        institution_code,
        report_period,
        account_no,
        coalesce(counterparty_institution_code, '') as counterparty_institution_code,
        coalesce(counterparty_account, '') as counterparty_account,
        txn_id,
        direction,
        amount,
        amount % {{ var('flow_round_unit') }} = 0 as is_round,
        coalesce(purpose, '') ~ '{{ var("flow_purpose_keywords") | join("|") }}' as has_keyword,
        coalesce(purpose, '') ~ '{{ var("flow_payout_keywords") | join("|") }}' as has_payout_keyword,
        batch_id
    from transactions
),

final as (
    select
        institution_code,
        report_period as period,
        account_no,
        counterparty_institution_code,
        counterparty_account,
        count(*) filter (where direction = '收') as n_in,
        coalesce(sum(amount) filter (where direction = '收'), 0) as in_amount,
        count(*) filter (where direction = '收' and is_round) as n_in_round,
        count(*) filter (where direction = '收' and has_keyword) as n_in_keyword,
        count(*) filter (where direction = '付') as n_out,
        coalesce(sum(amount) filter (where direction = '付'), 0) as out_amount,
        min(amount) filter (where direction = '付') as out_amount_min,
        max(amount) filter (where direction = '付') as out_amount_max,
        count(*) filter (where direction = '付' and has_payout_keyword) as n_out_payout_keyword,
        min(txn_id) filter (where direction = '收') as example_in_txn_id,
        min(txn_id) filter (where direction = '付') as example_out_txn_id,
        max(batch_id) as source_batch_id
    from classified
    group by institution_code, report_period, account_no, counterparty_institution_code, counterparty_account
)

select * from final
