{{ config(
    materialized='table' if var('features_as_of', none) else 'incremental',
    unique_key=['period'],
    incremental_strategy='period_delete_insert',
    on_schema_change='append_new_columns',
    post_hook=[
        "{{ ensure_index(this, 'period') }}",
        "{{ ensure_index(this, 'period', 'months_observed < ' ~ label_window_months()) }}",
    ],
) }}
-- depends_on: {{ source('ops', 'batch') }}, {{ source('ops', 'submission') }}, {{ ref('int_firms__external_events') }}
-- The firm panel the models train and score on: the point-in-time features with the label next to them.
-- The label is the six-month one of firm_month_labels, kept only where all six months it looks ahead to
-- are observed (months_observed = label_window_months()): a right-censored label (the latest labelled
-- months: 1 to 5 of the 6 observed so far) says "no case yet", not "no case within six months", and a
-- model predicting the six-month probability must not be fitted, calibrated or judged against it (the
-- default split holds out the LATEST months: bench/README "Early-warning models", 7 Dec censor8). Null
-- otherwise: the latest month is scored, the censored ones are neither trained on nor judged; a case
-- already seen in a censored window stays visible in first_case_period / first_case_type, and
-- months_observed stays for supervisors.
-- Choice: months in which the firm already had an illegal-fundraising or enforcement case opened (at t or
-- earlier, prior_case_count > 0) are dropped. The regulator already knows such a firm, so scoring it
-- warns nobody, and keeping it would teach the model to find the cases' own aftermath (frozen accounts,
-- piled-up court records, 暴雷 news) instead of what comes before a case. The firm's earlier months stay.
-- Incremental by month (a table with `features_as_of`, as firm_month_features), as account_month_training: its
-- rows carry firm_month_features' built_batch_id and built_events_digest (features.*), and a build recomputes
-- the months from the earliest of
--   * six months before the earliest period of an accepted batch newer than the stored `built_batch_id` (the
--     features of that month on change; a case of month t labels t - 6 .. t - 1);
--   * when there is such a batch, the earliest month whose window the horizon did not cover yet
--     (months_observed < 6: a later observed month changes it and its label);
-- and every month when the stored `built_events_digest` differs from int_firms__external_events' (the features
-- then recompute every month); earlier months stay. Before it was a table: 0.51 s on `small`'s first incremental
-- month, 2.35 s after four times the history (bench/README.md, "flow_alerts and firm_month_training incremental").
{%- set watermark = batch_watermark() %}
{%- set partial = is_incremental() and not var('features_as_of', none) and stored_value_is(
    this, 'built_events_digest', relation_digest(ref('int_firms__external_events'))) %}
{%- set starts = [] %}
{%- if partial %}
    {%- set new_batch = first_new_batch_period(this, watermark) %}
    {%- if new_batch %}
        {%- do starts.append(month_start_before(new_batch, label_window_months() | int)) %}
        {%- set unobserved = first_period_where(this, 'built.months_observed < ' ~ label_window_months()) %}
        {%- if unobserved %}{% do starts.append(month_start_before(unobserved, 0)) %}{% endif %}
    {%- endif %}
{%- endif %}
{%- set from_period = starts | min if starts else none %}
with

features as (
    select * from {{ ref('firm_month_features') }}
    {{ from_period_filter('period', partial, from_period) }}
),

labels as (
    select * from {{ ref('firm_month_labels') }}
    {{ from_period_filter('period', partial, from_period) }}
),

final as (
    select
        features.*,
        case when labels.months_observed = {{ label_window_months() }} then labels.label_case_6m end as label_case_6m,
        labels.months_observed,
        labels.first_case_period,
        labels.first_case_type
    from features
    left join labels
        on
            features.firm_uscc = labels.firm_uscc
            and features.period = labels.period
    where features.prior_case_count = 0
)

select * from final
