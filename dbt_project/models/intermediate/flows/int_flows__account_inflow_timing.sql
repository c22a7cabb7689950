{{ config(
    materialized='incremental',
    unique_key=['institution_code', 'period'],
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}
-- depends_on: {{ source('ops', 'batch') }}, {{ source('ops', 'submission') }}
-- When an account's inflows arrive within its month (#12 "burstiness"): a fundraising scheme collects in
-- bursts (a promotion, a seminar, word of mouth), while wages, pensions and repayments arrive on a schedule.
-- Goh-Barabasi burstiness B = (sigma - mu) / (sigma + mu) of the inter-arrival times of the month's
-- inflows (-1 perfectly periodic, 0 random (Poisson), towards 1 bursty), defined from 3 inflows on (two
-- gaps); and the busiest day's (China time) inflow count over the mean count of the days with an inflow. One row per
-- account-month with an inflow. Incremental by period like int_flows__counterparty_months: only the
-- (institution, month) pairs with a newer accepted transaction batch are read and replaced.
with

transactions as (
    select * from {{ ref('stg_submissions__transactions') }}
    where
        direction = '收'
        {% if is_incremental() %}
        and {{ new_batch_period_filter(new_batch_periods('transaction', this)) }}
        {% endif %}
),

gaps as (
    select
        institution_code,
        report_period,
        account_no,
        txn_time,
        batch_id,
        extract(epoch from txn_time - lag(txn_time) over (
            partition by institution_code, report_period, account_no order by txn_time
        )) as gap_seconds
    from transactions
),

daily as (
    select
        institution_code,
        report_period,
        account_no,
        count(*) as n_in
    from transactions
    group by institution_code, report_period, account_no, (txn_time at time zone 'Asia/Shanghai')::date
),

days as (
    select
        institution_code,
        report_period,
        account_no,
        count(*) as inflow_days,
        max(n_in) as max_daily_inflows,
        avg(n_in) as mean_daily_inflows
    from daily
    group by institution_code, report_period, account_no
),

timing as (
    select
        institution_code,
        report_period,
        account_no,
        count(*) as inflow_count,
        avg(gap_seconds) as mean_gap_seconds,
        stddev_pop(gap_seconds) as sd_gap_seconds,
        max(batch_id) as source_batch_id
    from gaps
    group by institution_code, report_period, account_no
)

select
    timing.institution_code,
    timing.account_no,
    timing.report_period as period,
    timing.inflow_count,
    days.inflow_days,
    days.max_daily_inflows,
    case
        when timing.inflow_count >= 3 and timing.sd_gap_seconds + timing.mean_gap_seconds > 0
            then
                ((timing.sd_gap_seconds - timing.mean_gap_seconds) / (timing.sd_gap_seconds + timing.mean_gap_seconds))
                ::numeric(6, 4)
    end as inflow_burstiness,
    (days.max_daily_inflows / days.mean_daily_inflows)::numeric(10, 4) as peak_day_ratio,
    timing.source_batch_id
from timing
inner join days
    on
        timing.institution_code = days.institution_code
        and timing.report_period = days.report_period
        and timing.account_no = days.account_no
