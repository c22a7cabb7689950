{#- Trailing windows of firm_month_features: a firm's dated events of the `months` calendar months ending
    with the spine's period (the period's own month included), never after the period.

    join_trailing_months: the spine joined to the firm's events of the window (the widest one used);
    in_trailing_months: whether an event of that join is in a shorter window, for filtered aggregates. -#}
{% macro join_trailing_months(events, months) %}
    inner join {{ events }}
        on
            spine.firm_uscc = {{ events }}.firm_uscc
            and spine.period >= {{ events }}.event_date
            and {{ in_trailing_months(events, months) }}
{%- endmacro %}

{% macro in_trailing_months(events, months) -%}
    {{ events }}.event_date >= (date_trunc('month', spine.period) - interval '{{ months - 1 }} months')::date
{%- endmacro %}
