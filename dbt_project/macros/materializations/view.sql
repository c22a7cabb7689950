{#- dbt's view materialization, except that an existing view whose definition and comments are already what
    this build would give is left alone (no DDL on it, no swap, no drop). A `dbt build` or `dbt run` without
    --full-refresh re-created every staging view before: ~30 DDL swaps per build with nothing to change. The
    check: the model's SQL as a temporary view, pg_get_viewdef of it against the existing view's (both
    resolved in this session, so names and column lists compare exactly), and the relation's and documented
    columns' comments against the model's descriptions (persist_docs). Any difference, --full-refresh, or no
    existing view: dbt's own materialization (materialization_view_default). Hooks and grants run either way. -#}
{%- materialization view, adapter='postgres' -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- if existing_relation is not none and existing_relation.is_view and not should_full_refresh()
          and view_is_current(existing_relation, sql) -%}
        {%- set target_relation = this.incorporate(type='view') -%}
        {{ run_hooks(pre_hooks, inside_transaction=False) }}
        {{ run_hooks(pre_hooks, inside_transaction=True) }}
        {% call statement('main') -%}
            select 1 as unchanged_view
        {%- endcall %}
        {% do apply_grants(target_relation, config.get('grants'), should_revoke=should_revoke(existing_relation, full_refresh_mode=True)) %}
        {{ run_hooks(post_hooks, inside_transaction=True) }}
        {{ adapter.commit() }}
        {{ run_hooks(post_hooks, inside_transaction=False) }}
        {{ return({'relations': [target_relation]}) }}
    {%- endif -%}
    {{ return(materialization_view_default()) }}
{%- endmaterialization -%}

{#- Whether the existing view `relation` already has the definition `sql` gives and the comments the model's
    documentation gives. -#}
{% macro view_is_current(relation, sql) %}
    {%- set probe = 'dbt_view_probe_' ~ local_md5(relation | string) -%}
    {%- set existing = "'" ~ (relation | string | replace("'", "''")) ~ "'::regclass" -%}
    {%- set columns = model.columns.values() | selectattr('description') | list
          if config.persist_column_docs() else [] -%}
    {% call statement('view_probe') -%}
        drop view if exists pg_temp.{{ probe }};
        create temporary view {{ probe }} as (
            {{ sql }}
        );
    {%- endcall %}
    {% call statement('view_compare', fetch_result=True) -%}
        select
            pg_get_viewdef('pg_temp.{{ probe }}'::regclass) = pg_get_viewdef({{ existing }})
            {%- if config.persist_relation_docs() and model.description %}
            and obj_description({{ existing }}, 'pg_class')
                is not distinct from {{ postgres_escape_comment(model.description) }}
            {%- endif %}
            {%- if columns %}
            and not exists (
                select 1
                from (values
                    {%- for column in columns %}
                    ({{ postgres_escape_comment(column.name) }}, {{ postgres_escape_comment(column.description) }}){{ ',' if not loop.last }}
                    {%- endfor %}
                ) as documented (column_name, comment)
                inner join pg_attribute as attributes
                    on attributes.attrelid = {{ existing }} and attributes.attname = documented.column_name
                where col_description({{ existing }}, attributes.attnum) is distinct from documented.comment
            )
            {%- endif %} as current
    {%- endcall %}
    {% set current = load_result('view_compare').table.columns[0].values()[0] %}
    {% call statement('view_probe_drop') -%}
        drop view pg_temp.{{ probe }}
    {%- endcall %}
    {{ return(current) }}
{% endmacro %}
