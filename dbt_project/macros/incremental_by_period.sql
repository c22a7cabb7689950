{#- The flow chain's incremental models (int_flows__*, account_month_training) are keyed by `period` and grow by
    a month at a time; with four times the history their delete+insert scanned the whole table to find the rows
    of the few new months (bench/README.md, "4x history").

    Strategy `period_delete_insert` (incremental_strategy='period_delete_insert'): dbt's delete+insert, the same
    rows deleted, with one more predicate on the delete: `period` at or after the earliest period of the build's
    new rows, a literal read from the temporary table when the statement is made (a row whose key is among the
    new rows' keys has one of their periods, so the predicate drops nothing the key match keeps; none when there
    are no new rows, as the key match then deletes nothing either). A literal, not a sub-query, so the planner
    sees how few rows it keeps and reads them through an index with `period` in it, where there is one.

    The flow chain's tables have a b-tree on `period` for that delete (macro ensure_index; hist15, bench/README.md):
    without one, the delete of one month scanned the whole table, serially (1.3 s for int_flows__account_scores
    alone on `small` with four times the history), a cost that grew with the history. Earlier, without a fence, such
    an index made `min(period) ... where <filter>` walk it from the oldest month (first_new_period_cte,
    first_period_where: 3.3 s and 1.9 s instead of 0.9 s and 0.27 s in hist12): first_new_period_cte now reads its
    rows in a sub-query behind `offset 0`, through the batch column's index, and first_period_where's condition has a
    partial index on `period` of its own. A BRIN (hist12) was also taken
    by the planner for the `period >=` look-backs and slowed them; a b-tree is not taken for a look-back by a
    sub-query's value (generic selectivity of a third of the table: a sequential scan), and for a literal one it
    reads a few months as fast as a parallel scan does (0.20-0.27 s against 0.23 s, 7 months of account_scores).
-#}
{% macro get_incremental_period_delete_insert_sql(arg_dict) %}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set first = run_query('select min(period)::text from ' ~ source).columns[0].values()[0] -%}
    {%- set predicates = (arg_dict['incremental_predicates'] or []) + [
        "DBT_INTERNAL_DEST.period >= '" ~ first ~ "'::date" if first else 'false'] -%}
    {{ get_delete_insert_merge_sql(arg_dict['target_relation'], source, arg_dict['unique_key'],
        arg_dict['dest_columns'], predicates) }}
{% endmacro %}
