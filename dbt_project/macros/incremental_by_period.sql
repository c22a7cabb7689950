{#- The flow chain's incremental models (int_flows__*, account_month_training) are keyed by `period` and grow by
    a month at a time; with four times the history their delete+insert scanned the whole table to find the rows
    of the few new months (bench/README.md, "4x history").

    Strategy `period_delete_insert` (incremental_strategy='period_delete_insert'): dbt's delete+insert, the same
    rows deleted, with one more predicate on the delete: `period` at or after the earliest period of the build's
    new rows, a literal read from the temporary table when the statement is made (a row whose key is among the
    new rows' keys has one of their periods, so the predicate drops nothing the key match keeps; none when there
    are no new rows, as the key match then deletes nothing either). A literal, not a sub-query, so the planner
    sees how few rows it keeps and reads them through the period index below.

    period_index: the post-hook that gives the table a BRIN index on `columns` (default `period`), made only when
    the table has no index of that method on exactly those columns: a table built before the hook gets it on its
    next run, not only at a full refresh (dbt's `indexes` config makes one only when it creates the table). With
    the literal above the delete of a new month reads no block range (nothing is at or after it yet): on `small`
    with four times the history 0.67 s -> 0.001 s for int_flows__counterparty_months (4M rows), the index built
    in 0.5 s. The look-backs `period >= (first new month)` of int_flows__account_windows and _scores are read
    through it too (their SELECTs 6.4-8.5 -> 4.2-5.0 s and 2.6-2.8 -> 1.5-1.8 s on that state). BRIN, not a
    b-tree: a b-tree on `period` also serves `min(period) ... where <filter>` by walking the index from the
    oldest month until a row passes the filter (first_new_period_cte, first_period_where): 3.3 s and 1.9 s
    instead of 0.9 s and 0.27 s for a parallel scan (bench/README.md, hist12). Named after the
    table's oid, so the new table of a full refresh gets its own while the old one (renamed to __dbt_backup,
    dropped after the commit) keeps its name until then.
-#}
{% macro get_incremental_period_delete_insert_sql(arg_dict) %}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set first = run_query('select min(period)::text from ' ~ source).columns[0].values()[0] -%}
    {%- set predicates = (arg_dict['incremental_predicates'] or []) + [
        "DBT_INTERNAL_DEST.period >= '" ~ first ~ "'::date" if first else 'false'] -%}
    {{ get_delete_insert_merge_sql(arg_dict['target_relation'], source, arg_dict['unique_key'],
        arg_dict['dest_columns'], predicates) }}
{% endmacro %}

{% macro period_index(columns=['period'], method='brin') %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set wanted = method ~ ' (' ~ columns | join(', ') ~ ')' -%}
    {%- set query -%}
        select
            '{{ this }}'::regclass::oid::text,
            count(*) filter (where pg_get_indexdef(indexes.indexrelid) like '% USING {{ wanted }}')
        from pg_index as indexes
        where indexes.indrelid = '{{ this }}'::regclass
    {%- endset -%}
    {%- set found = run_query(query).rows[0] -%}
    {%- if found[1] | int > 0 -%}{{ return('') }}{%- endif -%}
    {{ return('create index ' ~ this.identifier[:40] ~ '_' ~ method ~ '_' ~ found[0] ~ ' on ' ~ this ~ ' using '
        ~ wanted) }}
{% endmacro %}
