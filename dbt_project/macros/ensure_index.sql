{#- A post-hook: a b-tree on `column` of `relation`, made when the table has no index on exactly that column yet,
    so also on tables built before it (an incremental model's `indexes` config is only applied when the table is
    created). Unnamed: PostgreSQL picks a free name; a fixed name would still belong to the `__dbt_backup` copy a
    full refresh drops after its post-hooks.

    Used for the look-up an incremental build makes of its own table (bench/README.md, hist13): `max` of a batch
    column (the stored watermark), a scan of the whole table without an index (0.7-1.5 s on
    `int_flows__counterparty_months`, 0.5-1.6 s on `account_month_training` on `small` with 4x history; under 0.05 s
    with one: the newest entries are the live ones). Also on `period` of the flow chain's tables, for the delete of the
    months a build rewrites (macro get_incremental_period_delete_insert_sql), and, with `where` (a predicate written
    as PostgreSQL prints it back, without its outer parentheses: `months_observed < 6`), a partial index for a
    look-up of few rows by a condition (macro first_period_where). -#}
{% macro ensure_index(relation, column, where=none) %}
do $ensure_index$
begin
    if not exists (
        select 1
        from pg_index as i
        inner join pg_attribute as a on i.indrelid = a.attrelid and a.attnum = i.indkey[0]
        where
            i.indrelid = '{{ relation }}'::regclass
            and i.indnkeyatts = 1
            and a.attname = '{{ column }}'
            and {% if where %}pg_get_expr(i.indpred, i.indrelid) = {{ "'(" ~ where ~ ")'" }}{% else %}i.indpred is null{% endif %}
    ) then
        execute 'create index on {{ relation }} ({{ column }}){{ " where " ~ where if where }}';
    end if;
end
$ensure_index$
{% endmacro %}
