{#- The label window of the early-warning panels, in one place (firm_month_labels, account_month_training):
    a month t is labelled 1 when an event (a case opened) falls in one of the next `label_window_months`
    calendar months (t + 1 .. t + 6). A month is observed once the regulator has reported records for it
    or a later month (its cases, ratings or interventions: REG0000 submits only months with records);
    months_observed says how many of the window's months are, the label is null while none is.

    label_horizon: the body of a CTE with one row, last_observed_period (cut at `features_as_of` when
    point_in_time, see as_of); label_months_observed: how many months of t's window the horizon covers;
    in_label_window: whether an event of month `event_period` is in t's window. -#}
{% macro label_window_months() -%}
    6
{%- endmacro %}

{% macro label_horizon(point_in_time=true) %}
    select max(regulator_periods.report_period) as last_observed_period
    from (
        select report_period from {{ ref('stg_submissions__regulator_cases') }}
        union all
        select report_period from {{ ref('stg_submissions__supervisory_ratings') }}
        union all
        select report_period from {{ ref('stg_submissions__interventions') }}
    ) as regulator_periods
    {% if point_in_time %}{{ as_of('regulator_periods.report_period') }}{% endif %}
{%- endmacro %}

{% macro label_months_observed(last_observed_period, period) -%}
    greatest(0, least({{ label_window_months() }}, {{ month_gap(last_observed_period, period) }}))::int
{%- endmacro %}

{% macro in_label_window(event_period, period) -%}
    {{ month_gap(event_period, period) }} between 1 and {{ label_window_months() }}
{%- endmacro %}
