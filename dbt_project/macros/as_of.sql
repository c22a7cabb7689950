{#- The point-in-time cut of the feature marts, in one place. With the dbt var `features_as_of` (a date),
    a condition keeping the rows whose `column` is on or before it, opened by `keyword` ('where' or
    'and'); without the var, nothing. tests/test_ml_features.py and tests/test_ml_firm.py build the
    feature marts with and without it and prove the features up to the cut-off are identical. -#}
{% macro as_of(column, keyword='where') %}
    {%- set cut = var('features_as_of', none) -%}
    {%- if cut %}{{ keyword }} {{ column }} <= '{{ cut }}'::date{% endif -%}
{%- endmacro %}
