-- depends_on: {{ source('ops', 'batch') }}, {{ source('ops', 'submission') }}
-- The months in which each institution reported accounts or transactions: one row per (institution, period,
-- dataset) with rows in the accepted batch of that month (`source_batch_id`), for int_entities__institutions
-- (the first and last period of an institution known only from its detail tables). Until 8 Dec that model
-- read every raw account and transaction row of the whole history on each build (3.5 s on `small` with 4x
-- history, bench/README.md "The quarterly and entity tables incremental").
-- Incremental (delete+insert on institution, period and dataset): a build recomputes only the
-- (institution, period) pairs of an accepted account or transaction batch newer than the stored batch
-- watermark (`built_batch_id`, macro batch_watermark; the pairs read from ops.batch at compile time filter
-- raw with literals: partition pruning). A resubmission is such a batch; when its version has no rows left,
-- the post-hook deletes the row of the superseded batch (its `source_batch_id` no longer accepted).
{%- set watermark = batch_watermark() %}
{%- set incremental = is_incremental() %}
{%- if incremental %}
{%- set stored = stored_batch_watermark(this) %}
{%- set account_pairs = batch_periods_between('account', stored, watermark) %}
{%- set transaction_pairs = batch_periods_between('transaction', stored, watermark) %}
{%- endif %}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['institution_code', 'period', 'dataset'],
    on_schema_change='append_new_columns',
    post_hook="{{ delete_superseded_reported_periods() }}"
) }}

with

accounts as (
    select
        institution_code,
        report_period,
        batch_id
    from {{ ref('stg_submissions__accounts') }}
    {%- if incremental %}
    where {{ new_batch_period_filter(account_pairs) }}
    {%- endif %}
),

transactions as (
    select
        institution_code,
        report_period,
        batch_id
    from {{ ref('stg_submissions__transactions') }}
    {%- if incremental %}
    where {{ new_batch_period_filter(transaction_pairs) }}
    {%- endif %}
),

final as (
    select
        institution_code,
        report_period as period,
        'account' as dataset,
        max(batch_id) as source_batch_id,
        {{ watermark }}::bigint as built_batch_id
    from accounts
    group by institution_code, report_period
    union all
    select
        institution_code,
        report_period as period,
        'transaction' as dataset,
        max(batch_id) as source_batch_id,
        {{ watermark }}::bigint as built_batch_id
    from transactions
    group by institution_code, report_period
)

select * from final
