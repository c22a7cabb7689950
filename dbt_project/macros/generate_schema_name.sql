{#- Use the configured schema name as is (staging, marts_prudential, ...), not <target>_<custom>:
    the warehouse's schemas are a contract with the roles and the BI tools. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
