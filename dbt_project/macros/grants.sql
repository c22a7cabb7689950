{#- bi_reader may look into serving schemas (marts_*, reference) and nothing else. Table-level
    SELECT comes from the `grants` config; schema USAGE is granted here after every run. -#}
{% macro grant_usage_on_serving_schemas(schemas) %}
    {%- set stmts = [] -%}
    {%- for schema in schemas | unique -%}
        {%- if schema.startswith('marts') or schema == 'reference' -%}
            {%- do stmts.append('grant usage on schema ' ~ adapter.quote(schema) ~ ' to bi_reader') -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(stmts | join(';\n')) }}
{% endmacro %}
