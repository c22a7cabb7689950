{#- The firm-month spine joined to a firm's dated events in the trailing window: events of the
    `months` calendar months ending with the spine's period (the period's own month included), never
    after the period. One definition for every windowed feature of firm_month_features. -#}
{% macro join_trailing_months(events, months) %}
    inner join {{ events }}
        on
            spine.firm_uscc = {{ events }}.firm_uscc
            and spine.period >= {{ events }}.event_date
            and {{ events }}.event_date >= (date_trunc('month', spine.period) - interval '{{ months - 1 }} months')::date
{%- endmacro %}
