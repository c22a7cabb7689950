{#- A post-hook: a b-tree on `column` of `relation` (optionally partial: `where`), made when the table has no
    index on exactly that column (with that predicate) yet, so also on tables built before it (an incremental
    model's `indexes` config is only applied when the table is created). Unnamed: PostgreSQL picks a free name;
    a fixed name would still belong to the `__dbt_backup` copy a full refresh drops after its post-hooks.

    Used for the look-ups an incremental build makes of its own table (bench/README.md, hist13): `max` of a batch
    column (the stored watermark) and the earliest month still waiting for its label window, each a scan of the
    whole table without an index (1.3 s on `int_flows__counterparty_months` and 1.6 s on
    `account_month_training` on `small` with 4x history; a few milliseconds with one). -#}
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
            and {{ 'i.indpred is null' if where is none else 'i.indpred is not null' }}
    ) then
        execute 'create index on {{ relation }} ({{ column }}){{ (" where " ~ where) if where is not none }}';
    end if;
end
$ensure_index$
{% endmacro %}
