{#- A ratio (0.1234) as people read it: '12.34%'. -#}
{% macro format_percent(expr, decimals=2) -%}
    (to_char(round(({{ expr }}) * 100, {{ decimals }}), 'FM999999990.{{ "0" * decimals }}') || '%')
{%- endmacro %}
