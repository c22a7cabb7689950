{{ config(
    materialized='incremental',
    unique_key=['period'],
    incremental_strategy='period_delete_insert',
    on_schema_change='append_new_columns',
    post_hook=[
        "{{ ensure_index(this, 'built_batch_id') }}", "{{ ensure_index(this, 'period') }}",
        "{{ ensure_index(this, 'period', 'months_observed < ' ~ label_window_months()) }}",
    ],
) }}
-- depends_on: {{ source('ops', 'batch') }}, {{ source('ops', 'submission') }}
-- The account panel the account model trains and scores on (#12): one row per account-month of
-- int_flows__account_scores, its features the peer percentiles of the flow signals and the typology
-- scores (scale-free: no yuan thresholds), its label from what the regulator and its supervisors
-- recorded, never from the simulator's answers. label_case_6m = 1 when the account's holder (a firm, by
-- USCC) has an illegal-fundraising (非法集资) case opened in one of the next six months (t + 1 .. t + 6,
-- stg_submissions__regulator_cases), or a supervisor confirmed a flow alert on the account for a month
-- in t .. t + 6 (ops.alert_disposition_current); 0 when neither. Only where all six months ahead are
-- observed (months_observed = label_window_months(): the regulator has reported records for t + 6 or a
-- later month); null otherwise (the latest month is scored, the right-censored ones are neither trained
-- on nor judged: "no case yet" is not "no case within six months", bench/README "Early-warning models",
-- 7 Dec censor8). Also a positive in a censored window (a case or a confirmation already seen) is left
-- null: keeping the positives of the censored months and not their negatives would make the latest
-- labelled months all but positives (the default split calibrates and judges on them). A confirmation
-- is not lost: it labels at once the complete months of its window (t = alert month - 6 ..), and its
-- own and later months as they become complete; first_case_period / first_confirmed_period show it
-- on every row. As for firms, months in which the holder already had such a case opened (at t or
-- earlier) are left out: the regulator already knows it.
-- Incremental by month (macros/rebuild_from_period.sql): a build recomputes the months from the earliest of
--   * six months before the earliest period of an accepted batch newer than the stored `built_batch_id`
--     (the account scores of that month on change; a case of month t labels t - 6 .. t - 1);
--   * when there is a new batch or decision, the earliest month whose window the horizon did not cover
--     yet (months_observed < 6: a later observed month changes it and its label);
--   * six months before the earliest alert month of a supervisor's decision on a flow alert newer than
--     the stored `built_disposition_id` (a confirmation labels t - 6 .. t);
--   * the same earliest month with months_observed < 6 also without anything new when some such month is
--     stored with a label (a table built before the complete-label rule: never true of one built with it);
-- and leaves earlier months alone. The holder of an account never changes (int_entities__accounts_latest).
-- The look-up of the stored `built_batch_id` reads an index (the post-hook, macro ensure_index), not the whole
-- table (0.5-1.6 s with 4x history). The months_observed < 6 look-ups still scan it (0.34-0.62 s each): a partial
-- index on `period` for them was tried (bench/README.md, hist13) and dropped: 0.05-0.11 s the first build, then
-- 0.42 / 0.79 s after three builds (the rows each build deletes leave dead entries at the low end of the index).
{%- set signals = ['payers', 'new_payers', 'individual_share', 'elderly_share', 'keyword_share', 'round_share',
    'inflow_dispersion', 'outflow_concentration', 'pass_through', 'periodic_repaid_payers', 'periodic_payees',
    'payout_keyword_share', 'elsewhere_share', 'upstream_payers', 'large_payers', 'large_individual_payers'] %}
{%- set typologies = ['collection', 'periodic_payout', 'fan_in', 'pass_through'] %}
{%- set watermark = batch_watermark() %}
{%- set dispositions = flow_disposition_watermark() %}
{%- set partial = is_incremental() and has_column(this, 'built_disposition_id') %}
{%- set starts = [] %}
{%- if partial %}
    {%- for p in [first_new_batch_period(this, watermark), first_new_disposition_period(this)] if p %}
        {%- do starts.append(month_start_before(p, label_window_months() | int)) %}
    {%- endfor %}
    {%- set unobserved = first_period_where(this, 'built.months_observed < ' ~ label_window_months()) %}
    {%- if starts and unobserved %}{% do starts.append(month_start_before(unobserved, 0)) %}{% endif %}
    {%- if unobserved and first_period_where(this, 'built.label_case_6m is not null and built.months_observed < '
        ~ label_window_months()) %}{% do starts.append(month_start_before(unobserved, 0)) %}{% endif %}
{%- endif %}
{%- set from_period = starts | min if starts else none %}
with

scores as (
    select * from {{ ref('int_flows__account_scores') }}
    {{ from_period_filter('period', partial, from_period) }}
),

accounts as (
    select * from {{ ref('int_entities__accounts_latest') }}
),

cases as (
    select
        uscc,
        report_period
    from {{ ref('stg_submissions__regulator_cases') }}
    where entity_type = '企业' and case_type = '非法集资' and uscc is not null
),

confirmed as (
    select * from {{ ref('stg_flows__confirmed_flow_alerts') }}
),

horizon as (
    -- no features_as_of cut here: the account panel's cases are not cut either (as before the macro)
    {{ label_horizon(point_in_time=false) }}
),

panel as (
    select
        scores.institution_code || ':' || scores.account_no as account_key,
        scores.institution_code,
        scores.account_no,
        scores.period,
        accounts.holder_uscc,
        scores.flow_score,
        scores.top_typology,
        {% for t in typologies %}
        scores.score_{{ t }},
        {% endfor %}
        {% for s in signals %}
        scores.pr_{{ s }},
        {% endfor %}
        {{ label_months_observed('horizon.last_observed_period', 'scores.period') }} as months_observed
    from scores
    left join accounts
        on
            scores.institution_code = accounts.institution_code
            and scores.account_no = accounts.account_no
    cross join horizon
),

case_events as (
    select
        panel.account_key,
        panel.period,
        min(cases.report_period) filter (
            where {{ in_label_window('cases.report_period', 'panel.period') }}
        ) as first_case_period,
        count(*) filter (where cases.report_period <= panel.period) as prior_case_count
    from panel
    inner join cases
        on
            panel.holder_uscc = cases.uscc
            and {{ month_gap('cases.report_period', 'panel.period') }} <= {{ label_window_months() }}
    group by panel.account_key, panel.period
),

confirmed_events as (
    select
        panel.account_key,
        panel.period,
        min(confirmed.period) as first_confirmed_period
    from panel
    inner join confirmed
        on
            panel.institution_code = confirmed.institution_code
            and panel.account_no = confirmed.account_no
            and {{ month_gap('confirmed.period', 'panel.period') }} between 0 and {{ label_window_months() }}
    group by panel.account_key, panel.period
),

final as (
    select
        panel.*,
        case_events.first_case_period,
        confirmed_events.first_confirmed_period,
        case
            when panel.months_observed < {{ label_window_months() }} then null
            when case_events.first_case_period is not null or confirmed_events.first_confirmed_period is not null
                then 1
            else 0
        end as label_case_6m,
        {{ watermark }}::bigint as built_batch_id,
        {{ dispositions }}::bigint as built_disposition_id
    from panel
    left join case_events
        on
            panel.account_key = case_events.account_key
            and panel.period = case_events.period
    left join confirmed_events
        on
            panel.account_key = confirmed_events.account_key
            and panel.period = confirmed_events.period
    where coalesce(case_events.prior_case_count, 0) = 0
)

select * from final
