{#- Is `type_col` one of the bank types (var bank_types)? Used where a seed row applies to 'bank'. -#}
{% macro is_bank_type(type_col) -%}
    {{ type_col }} in ({% for bt in var('bank_types') %}'{{ bt }}'{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}
