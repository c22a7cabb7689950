{{ config(
    materialized='incremental',
    unique_key=['institution_code', 'account_no'],
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    indexes=[{'columns': ['institution_code', 'account_no'], 'unique': True}],
    post_hook="delete from {{ this }} where first_period is null",
) }}
-- Each account's first month with any transaction in the data (in or out, every counterparty, known or not):
-- the minimum period of its rows in int_flows__counterparty_months, for int_flows__account_windows (accounts new
-- to the data, fresh sources; the import has no opening date). One row per account.
-- Incremental: only the counterparty-month rows newer than this model's watermark (built_batch_id, the newest
-- upstream source_batch_id it has read) are read. An account in them keeps the earlier of its stored month and
-- its newest rows' first month. An account whose stored first month was itself rewritten (a resubmission may have
-- dropped the account from it) is recomputed from every upstream month of that account (the upstream index on
-- account_no, period); one that is gone from the data gets a null month, deleted by the post-hook. So an
-- incremental build reads one month's rows, not the whole history, and equals a full build. The watermark is a
-- literal (read from this table at compile time, macro stored_batch_watermark): as a sub-query the planner took
-- a third of the upstream rows to be new and hashed the whole upstream table (~4M rows with four times the
-- history) for the rechecked accounts: 5.7 s, 0.6 s with the literal (bench/README.md, hist12).
with

{% if is_incremental() %}
{#- a unit test's `this` is its fixture (a CTE name, not a table to read at compile time): the sub-query there -#}
{%- set watermark = '(select coalesce(max(built.built_batch_id), 0) from ' ~ this ~ ' as built)' if this is string
    else stored_batch_watermark(this) %}

new_rows as (
    select
        upstream.institution_code,
        upstream.account_no,
        upstream.period,
        upstream.source_batch_id
    from {{ ref('int_flows__counterparty_months') }} as upstream
    where upstream.source_batch_id > {{ watermark }}
),

rewritten_months as (
    select distinct
        institution_code,
        period
    from new_rows
),

rechecked as (
    select
        built.institution_code,
        built.account_no,
        min(upstream.period) as first_period
    from {{ this }} as built
    inner join rewritten_months
        on
            built.institution_code = rewritten_months.institution_code
            and built.first_period = rewritten_months.period
    left join {{ ref('int_flows__counterparty_months') }} as upstream
        on
            built.account_no = upstream.account_no
            and built.institution_code = upstream.institution_code
    group by built.institution_code, built.account_no
),

new_first as (
    select
        institution_code,
        account_no,
        min(period) as first_period
    from new_rows
    group by institution_code, account_no
),

final as (
    select
        coalesce(new_first.institution_code, rechecked.institution_code) as institution_code,
        coalesce(new_first.account_no, rechecked.account_no) as account_no,
        case
            when rechecked.account_no is not null then rechecked.first_period
            else least(new_first.first_period, built.first_period)
        end as first_period,
        (select max(new_rows.source_batch_id) from new_rows) as built_batch_id
    from new_first
    full outer join rechecked
        on
            new_first.institution_code = rechecked.institution_code
            and new_first.account_no = rechecked.account_no
    left join {{ this }} as built
        on
            new_first.institution_code = built.institution_code
            and new_first.account_no = built.account_no
)

{% else %}

final as (
    select
        institution_code,
        account_no,
        min(period) as first_period,
        max(max(source_batch_id)) over () as built_batch_id
    from {{ ref('int_flows__counterparty_months') }}
    group by institution_code, account_no
)

{% endif %}

select * from final
