{#- Incremental marts over the whole history (firm_month_features, account_month_training): each row
    carries `built_batch_id`, the batch watermark of the build that wrote it (batch_watermark). A build
    recomputes the months from the earliest period of an accepted batch newer than the mart's watermark,
    a few rows of ops.batch read at compile time whatever the history, and leaves earlier months alone.

    batch_watermark: the highest batch id below which every batch has reached a final status (accepted,
    quarantined, rejected, superseded, duplicate): a batch still being loaded when the build starts has a
    higher id than the watermark, so the next build still sees it as new. 0 with the var `features_as_of`
    (a point-in-time build of truncated history: the next build must recompute every month).

    first_new_batch_period: the earliest period (a date string) of an accepted batch with an id in
    (the mart's watermark, `watermark`], or none when there is none (nothing to rebuild); with `any_status`,
    of any batch in that range (quarantined and rejected ones too: institution_quarter_features counts them). -#}
{% macro batch_watermark() %}
    {%- set batch_table = source('ops', 'batch') -%}
    {#- a unit test's source is its fixture (a CTE name, not a table to read at compile time): 0 there -#}
    {%- if not execute or var('features_as_of', none) or (batch_table | string).startswith('__dbt__cte__') -%}{{ return(0) }}{%- endif -%}
    {%- set query -%}
        select coalesce(
            (
                select min(pending.batch_id) - 1 from {{ batch_table }} as pending
                where pending.status in ('received', 'verified', 'loaded', 'validated')
            ),
            (select max(batches.batch_id) from {{ batch_table }} as batches),
            0
        )
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0] | int) }}
{% endmacro %}

{% macro first_new_batch_period(relation, watermark, marker_column='built_batch_id', any_status=false) %}
    {%- set batch_table = source('ops', 'batch') -%}
    {%- set submission_table = source('ops', 'submission') -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set query -%}
        select min(submissions.period)::text
        from {{ batch_table }} as batches
        inner join {{ submission_table }} as submissions
            on batches.submission_id = submissions.submission_id
        where
            {{ 'true' if any_status else "batches.status = 'accepted'" }}
            and batches.batch_id <= {{ watermark }}
            and batches.batch_id > (select coalesce(max(built.{{ marker_column }}), 0) from {{ relation }} as built)
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{% endmacro %}

{#- The first day of the month `months` months before the month of `period` (date strings): periods are
    month ends, so `period >= month_start_before(p, 6)` keeps p's month and the six before it. -#}
{% macro month_start_before(period, months) %}
    {%- set day = modules.datetime.date.fromisoformat(period | string) -%}
    {%- set index = day.year * 12 + day.month - 1 - months -%}
    {{ return(modules.datetime.date(index // 12, index % 12 + 1, 1).isoformat()) }}
{% endmacro %}

{#- A 64-bit digest of every row of `relation` (a table of the project: a few thousand rows), for inputs
    that are not batches (the external feeds' events): a mart stores it with its rows and recomputes every
    month when it differs from the stored one. -#}
{% macro relation_digest(relation) %}
    {%- if not execute -%}{{ return(0) }}{%- endif -%}
    {%- set query -%}
        select ('x' || substr(md5(coalesce(string_agg(rows_::text, '|' order by rows_::text), '')), 1, 16))::bit(64)::bigint
        from {{ relation }} as rows_
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0] | int) }}
{% endmacro %}

{#- Whether `relation` has the column (a table built before the column existed is recomputed whole). -#}
{% macro has_column(relation, column) %}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {{ return(column in adapter.get_columns_in_relation(relation) | map(attribute='name') | list) }}
{% endmacro %}

{#- Whether every row of the incremental `relation` stores `value` in `column` (false when it is empty or
    has no such column). -#}
{% macro stored_value_is(relation, column, value) %}
    {%- if not has_column(relation, column) -%}{{ return(false) }}{%- endif -%}
    {%- set query -%}
        select coalesce(bool_and(built.{{ column }} is not distinct from {{ value }}), false)
        from {{ relation }} as built
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{% endmacro %}

{#- account_month_training's dispositions: the highest disposition id of the supervisors' current flow-alert
    decisions (the stored watermark), and the earliest alert month among decisions newer than
    `stored_id` (a date string; none when there is none). -#}
{% macro flow_disposition_watermark() %}
    {%- set dispositions = source('ops_flows', 'alert_disposition_current') -%}
    {%- if not execute -%}{{ return(0) }}{%- endif -%}
    {%- set query -%}
        select coalesce(max(disposition_id), 0) from {{ dispositions }} where alert_kind = 'flow_alert'
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0] | int) }}
{% endmacro %}

{% macro first_new_disposition_period(relation, marker_column='built_disposition_id') %}
    {%- set dispositions = source('ops_flows', 'alert_disposition_current') -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set query -%}
        select min(split_part(decided.alert_id, ':', 3)::date)::text
        from {{ dispositions }} as decided
        where
            decided.alert_kind = 'flow_alert'
            and decided.alert_id ~ '^[^:]+:[^:]+:[0-9]{4}-[0-9]{2}-[0-9]{2}$'
            and decided.disposition_id > (select coalesce(max(built.{{ marker_column }}), 0) from {{ relation }} as built)
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{% endmacro %}

{#- The earliest `period` of `relation` whose rows satisfy `condition` (a date string; none if none). For the
    panels' `months_observed < 6`, a partial index on `period` with that predicate (macro ensure_index) answers it
    from its first entry (0.26-0.43 s of a whole-table scan with four times the history, hist15). -#}
{% macro first_period_where(relation, condition) %}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set query -%}
        select min(built.period)::text from {{ relation }} as built where {{ condition }}
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{% endmacro %}

{#- A 64-bit digest of every row of `relations` (seeds: a few hundred rows) and of `extra` (the values of the
    dbt vars a model uses), for the incremental quarterly models (int_prudential__indicators,
    stress_test_results, institution_quarter_features): stored with their rows, a different one (a seed or
    var edited) makes the build recompute every period. -#}
{% macro inputs_digest(relations, extra='') %}
    {#- a unit test's refs are its fixtures (CTE names): 0 there -#}
    {%- if not execute -%}{{ return(0) }}{%- endif -%}
    {%- for relation in relations if (relation | string).startswith('__dbt__cte__') -%}{{ return(0) }}{%- endfor -%}
    {%- set query -%}
        select ('x' || substr(md5(concat_ws('#',
            {%- for relation in relations %}
            (select coalesce(string_agg(rows_::text, '|' order by rows_::text), '') from {{ relation }} as rows_),
            {%- endfor %}
            {{ "'" ~ (extra | string | replace("'", "''")) ~ "'" }}
        )), 1, 16))::bit(64)::bigint
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0] | int) }}
{% endmacro %}

{#- The rows a quarterly incremental model recomputes: periods from `from_period` on (a date string), none when the
    build is partial and nothing is new (`false`), all when it is not partial. `column` is the period column. -#}
{% macro from_period_filter(column, partial, from_period, keyword='where') -%}
    {%- if partial and from_period %}{{ keyword }} {{ column }} >= '{{ from_period }}'::date
    {%- elif partial %}{{ keyword }} false
    {%- endif %}
{%- endmacro %}

{#- `alias.column, ...` for every column of `relation` but its build watermarks (built_*: which build wrote a
    row, not data), for a model that passes an incremental mart's columns on (institution_quarter_training);
    `alias.*` at parse time and before the relation exists. -#}
{% macro columns_but_built(relation, alias) %}
    {%- if not execute -%}{{ return(alias ~ '.*') }}{%- endif -%}
    {%- set kept = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) if not column.name.startswith('built_') -%}
        {%- do kept.append(alias ~ '.' ~ adapter.quote(column.name)) -%}
    {%- endfor -%}
    {#- no relation yet (a compile before the first build): `alias.*`, as at parse time -#}
    {{ return(kept | join(',\n        ') if kept else alias ~ '.*') }}
{% endmacro %}
