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
    {{ in_calendar_months(events ~ '.event_date', 'spine.period', months, upper=false) }}
{%- endmacro %}

{#- Whether the date `event` falls in the `months` calendar months ending with the month of `period` (a
    month end): from the first day of the earliest month, through `period` (that bound left out with
    upper=false, for joins that state it themselves). Calendar months, not `period - interval`: on month ends
    that shifts (2026-06-30 - 3 months = 2026-03-30, which would take in 31 March). -#}
{% macro in_calendar_months(event, period, months, upper=true) -%}
    {{ event }} >= (date_trunc('month', {{ period }}) - interval '{{ months - 1 }} months')::date
    {%- if upper %}
            and {{ event }} <= {{ period }}
    {%- endif %}
{%- endmacro %}
