-- Labels of the firm early-warning model, from the regulator's own case records (REG0000,
-- stg_submissions__regulator_cases), never from the simulator's answers: label_case_6m = 1 when the
-- regulator opens an illegal-fundraising (非法集资) or enforcement (被执行) case against the firm in one of
-- the next six months (t + 1 .. t + 6; the window is macros/label_window.sql, shared with
-- account_month_training). A month is observed once the regulator has reported records for it or a
-- later month (its cases, ratings or interventions: REG0000 submits only months with records);
-- months_observed says how many of the six are. The label is null while none is (the latest month); with
-- fewer than six the window is right-censored (a case after the last observed month is not known yet).
-- With the var `features_as_of` the labels are those known at that date (records for periods <= it).
with

features as (
    select
        firm_uscc,
        period
    from {{ ref('firm_month_features') }}
),

cases as (
    select
        uscc,
        report_period,
        case_id,
        case_type
    from {{ ref('stg_submissions__regulator_cases') }}
    where
        entity_type = '企业'
        and case_type in ('非法集资', '被执行')
        and uscc is not null
        {{ as_of('report_period', 'and') }}
),

horizon as (
    {{ label_horizon() }}
),

windows as (
    select
        features.firm_uscc,
        features.period,
        {{ label_months_observed('horizon.last_observed_period', 'features.period') }} as months_observed
    from features
    cross join horizon
),

events as (
    select
        windows.firm_uscc,
        windows.period,
        min(cases.report_period) as first_case_period,
        (array_agg(cases.case_type order by cases.report_period asc, cases.case_id asc))[1] as first_case_type
    from windows
    inner join cases
        on
            windows.firm_uscc = cases.uscc
            and {{ in_label_window('cases.report_period', 'windows.period') }}
    group by windows.firm_uscc, windows.period
),

final as (
    select
        windows.firm_uscc,
        windows.period,
        windows.months_observed,
        events.first_case_period,
        events.first_case_type,
        case
            when events.first_case_period is not null then 1
            when windows.months_observed > 0 then 0
        end as label_case_6m
    from windows
    left join events
        on
            windows.firm_uscc = events.firm_uscc
            and windows.period = events.period
)

select * from final
