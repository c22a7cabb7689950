{#- Helpers of int_entities__accounts_latest, incremental by account (not by period: an account's latest
    record may come from any month).

    stored_batch_watermark: the highest `built_batch_id` stored in `relation` (the batch watermark of its
    last build, macro batch_watermark), 0 when it is empty or has no such column (a table built before it).

    batch_periods_between: the (institution, period) pairs of `dataset` with an accepted batch whose id is
    in (`after`, `upto`] (no upper bound when `upto` is none), read from ops.batch at compile time (a few rows, whatever the history), for
    new_batch_period_filter. A resubmission is such a batch: its (institution, period) covers the rows of the
    version it superseded. -#}
{% macro stored_batch_watermark(relation, column='built_batch_id') %}
    {%- if not has_column(relation, column) -%}{{ return(0) }}{%- endif -%}
    {%- set query -%}
        select coalesce(max(built.{{ column }}), 0) from {{ relation }} as built
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0] | int) }}
{% endmacro %}

{#- The ledger's accepted batches of `dataset` with their submissions (`batches`, `submissions`): the from and
    where clauses of a compile-time look-up, to which the caller adds its own conditions. -#}
{% macro accepted_batches_of(dataset) %}
        from {{ source('ops', 'batch') }} as batches
        inner join {{ source('ops', 'submission') }} as submissions
            on batches.submission_id = submissions.submission_id
        where
            batches.dataset = '{{ dataset }}'
            and batches.status = 'accepted'
{%- endmacro %}

{% macro batch_periods_between(dataset, after, upto=none) %}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set query -%}
        select distinct submissions.institution_code, submissions.period::text
        {{ accepted_batches_of(dataset) }}
            and batches.batch_id > {{ after }}
            {%- if upto is not none %}
            and batches.batch_id <= {{ upto }}
            {%- endif %}
        order by 1, 2
    {%- endset -%}
    {{ return(run_query(query).rows | map('list') | list) }}
{% endmacro %}

{#- int_entities__accounts_latest's post-hook: delete the rows whose account record came from a batch that
    is no longer accepted (superseded by a resubmission that no longer has the account). -#}
{% macro delete_superseded_accounts() %}
    delete from {{ this }} as built
    where built.source_batch_id in (
        select batches.batch_id
        from {{ source('ops', 'batch') }} as batches
        where batches.dataset = 'account' and batches.status <> 'accepted'
    )
{% endmacro %}

{#- int_entities__reported_periods' post-hook: delete the rows whose batch is no longer accepted (superseded by a
    resubmission that has no rows for that institution and period). -#}
{% macro delete_superseded_reported_periods() %}
    delete from {{ this }} as built
    where built.source_batch_id in (
        select batches.batch_id
        from {{ source('ops', 'batch') }} as batches
        where batches.dataset in ('account', 'transaction') and batches.status <> 'accepted'
    )
{% endmacro %}
