{#- bi_reader may look into serving schemas (marts_*, reference) and nothing else; scorer into the
    feature marts. Table-level SELECT comes from the `grants` config; schema USAGE is granted here,
    once, after every run (not per model: parallel GRANTs on one schema fail, "tuple concurrently
    updated"). -#}
{% macro grant_usage_on_serving_schemas(schemas) %}
    {%- set stmts = [] -%}
    {%- for schema in schemas | unique -%}
        {%- if schema.startswith('marts') or schema == 'reference' -%}
            {%- do stmts.append('grant usage on schema ' ~ adapter.quote(schema) ~ ' to bi_reader') -%}
        {%- endif -%}
        {%- if schema == 'marts_features' -%}
            {%- do stmts.append('grant usage on schema ' ~ adapter.quote(schema) ~ ' to scorer') -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(stmts | join(';\n')) }}
{% endmacro %}
