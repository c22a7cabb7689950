{#- The (institution, period) pairs of `dataset` with an accepted batch newer than the newest batch
    `relation` was built from (max of its `batch_column`), read from ops.batch at compile time: a few
    rows, whatever the history. Incremental models filter their source with new_batch_period_filter, a
    literal list, so PostgreSQL prunes the raw table's period partitions at plan time and an incremental
    build reads only the new months, however many months the warehouse holds. -#}
{% macro new_batch_periods(dataset, relation, batch_column='source_batch_id') %}
    {%- if not execute -%}{{ return(batch_periods_between(dataset, 0)) }}{%- endif -%}
    {{ return(batch_periods_between(dataset, stored_batch_watermark(relation, batch_column))) }}
{% endmacro %}

{#- A where-clause for new_batch_periods' pairs: `false` when there are none. -#}
{% macro new_batch_period_filter(pairs, institution_column='institution_code', period_column='report_period') -%}
    {%- if pairs | length == 0 -%}
        false
    {%- else -%}
        {{ period_in_list(period_column, pairs | map(attribute=1) | unique | list) }}
        and ({{ institution_column }}, {{ period_column }}) in (
            {%- for i, p in pairs %}('{{ i }}', '{{ p }}'::date){{ ', ' if not loop.last }}{% endfor -%}
        )
    {%- endif -%}
{%- endmacro %}

{#- The CTE `first_new_period` of an incremental flow model: the earliest period of `upstream` (a model
    incremental by period) with rows from a newer batch than this model was built from (its `built_column`, by
    default the same name as upstream's `batch_column`). The model then recomputes from that month on.
    The newer rows are a sub-query behind `offset 0`, found through upstream's index on its batch column: else,
    with an index on `period` (macro ensure_index, for the one-month delete), the planner answers `min(period)`
    by walking that index from the oldest month, past every row of the history (hist12: 3.3 s instead of 0.9 s). -#}
{% macro first_new_period_cte(upstream, batch_column='source_batch_id', built_column=none) -%}
first_new_period as (
    select min(newer.period) as period
    from (
        select newer_rows.period
        from {{ upstream }} as newer_rows
        where newer_rows.{{ batch_column }} > (
            select coalesce(max(built.{{ built_column or batch_column }}), 0) from {{ this }} as built
        )
        offset 0
    ) as newer
),
{%- endmacro %}

{#- A where-clause keeping the rows of the listed periods (dates as text): `false` when there are none. A literal
    list, so PostgreSQL prunes the raw tables' period partitions at plan time. -#}
{% macro period_in_list(column, periods) -%}
    {%- if periods | length == 0 -%}
        false
    {%- else -%}
        {{ column }} in ({% for p in periods %}'{{ p }}'::date{{ ', ' if not loop.last }}{% endfor %})
    {%- endif -%}
{%- endmacro %}
