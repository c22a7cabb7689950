{#- A post-hook: a b-tree on `column` of `relation`, made when the table has no index on exactly that column yet,
    so also on tables built before it (an incremental model's `indexes` config is only applied when the table is
    created). Unnamed: PostgreSQL picks a free name; a fixed name would still belong to the `__dbt_backup` copy a
    full refresh drops after its post-hooks.

    Used for the look-up an incremental build makes of its own table (bench/README.md, hist13): `max` of a batch
    column (the stored watermark), a scan of the whole table without an index (0.7-1.5 s on
    `int_flows__counterparty_months`, 0.5-1.6 s on `account_month_training` on `small` with 4x history; under 0.05 s
    with one: the newest entries are the live ones). -#}
{% macro ensure_index(relation, column) %}
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
            and i.indpred is null
    ) then
        execute 'create index on {{ relation }} ({{ column }})';
    end if;
end
$ensure_index$
{% endmacro %}
