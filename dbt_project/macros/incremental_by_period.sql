{#- The flow chain's incremental models (int_flows__*, account_month_training) are keyed by `period` and grow by
    a month at a time; with four times the history their delete+insert scanned the whole table to find the rows
    of the few new months (bench/README.md, "4x history").

    Strategy `period_delete_insert` (incremental_strategy='period_delete_insert'): dbt's delete+insert, the same
    rows deleted, with one more predicate on the delete: `period` at or after the earliest period of the build's
    new rows, a literal read from the temporary table when the statement is made (a row whose key is among the
    new rows' keys has one of their periods, so the predicate drops nothing the key match keeps; none when there
    are no new rows, as the key match then deletes nothing either). A literal, not a sub-query, so the planner
    sees how few rows it keeps and reads them through an index with `period` in it, where there is one.

    No index on `period` goes with it. On `small` with four times the history (hist12, bench/README.md) a b-tree
    made `min(period) ... where <filter>` walk the index from the oldest month (first_new_period_cte,
    first_period_where: 3.3 s and 1.9 s instead of 0.9 s and 0.27 s), and a BRIN, fast to build (0.5 s on 4M
    rows) and right for the delete of a new month (0.67 s -> 0.001 s), was also taken by the planner for the
    `period >=` look-backs, which it slowed once a few months had been added (account_windows' SELECT 5.1-5.5 ->
    5.8-7.8 s, account_month_training's 1.2 -> 1.8-2.8 s; suspected cause, seen at 1x: each month's rows also
    land in the free tails of old pages, so most block ranges soon reach the recent months). Without an index the bounded
    delete of int_flows__counterparty_months reads the `period` column through its (account_no, period) index:
    0.14 s instead of a hash semi-join over 4M rows (0.67 s idle, 1.9-2.7 s in a build).
-#}
{% macro get_incremental_period_delete_insert_sql(arg_dict) %}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set first = run_query('select min(period)::text from ' ~ source).columns[0].values()[0] -%}
    {%- set predicates = (arg_dict['incremental_predicates'] or []) + [
        "DBT_INTERNAL_DEST.period >= '" ~ first ~ "'::date" if first else 'false'] -%}
    {{ get_delete_insert_merge_sql(arg_dict['target_relation'], source, arg_dict['unique_key'],
        arg_dict['dest_columns'], predicates) }}
{% endmacro %}
