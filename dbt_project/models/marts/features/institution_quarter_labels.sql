-- Labels of the institution early-warning model, from the regulator's own records (REG0000), never
-- from the simulator's answers: label_high_risk_4q = 1 when, in one of the next four quarters
-- (t + 1 .. t + 4), the institution is rated 5, 6 or S, or is taken over (接管). The label is null while
-- no later quarter has been rated yet; quarters_observed says how many of the four are (the last
-- labelled periods are right-censored: their label covers the quarters observed so far). With the var
-- `features_as_of` the labels are those known at that date (records for periods <= it).
-- Each count and first event is one join on the window, aggregated per (institution, quarter): correlated
-- sub-queries per row re-read the ratings and the interventions view for every institution-quarter, a cost of
-- quarters x records, the square of the history (bench/README, "`small`/20548 with 4x history on current code").
with

features as (
    select
        institution_code,
        period
    from {{ ref('institution_quarter_features') }}
),

ratings as (
    select
        institution_code,
        report_period,
        case when rating = 'S' then 7 else rating::int end as rating_value
    from {{ ref('stg_submissions__supervisory_ratings') }}
    {{ as_of('report_period') }}
),

rated_quarters as (
    select distinct report_period from ratings
),

takeovers as (
    select
        institution_code,
        (date_trunc('quarter', measure_date) + interval '3 months' - interval '1 day')::date as event_quarter
    from {{ ref('stg_submissions__interventions') }}
    where
        measure_type = '接管'
        {{ as_of('report_period', 'and') }}
),

windows as (
    select
        institution_code,
        period,
        (date_trunc('quarter', period) + interval '15 months' - interval '1 day')::date as window_end
    from features
),

-- (institution, quarter) is unique in the features (a tested key): one window per key, so each aggregate below
-- holds exactly what the sub-query of its row gave
observed as (
    select
        windows.institution_code,
        windows.period,
        count(*) as quarters_observed
    from windows
    inner join rated_quarters
        on
            windows.period < rated_quarters.report_period
            and windows.window_end >= rated_quarters.report_period
    group by windows.institution_code, windows.period
),

-- the high-risk events: a rating of 5, 6 or S, and a takeover, each in its quarter
high_risk_events as (
    select
        institution_code,
        report_period as event_period
    from ratings
    where rating_value >= 5
    union all
    select
        institution_code,
        event_quarter as event_period
    from takeovers
),

first_events as (
    select
        windows.institution_code,
        windows.period,
        min(high_risk_events.event_period) as first_period
    from windows
    inner join high_risk_events
        on
            windows.institution_code = high_risk_events.institution_code
            and windows.period < high_risk_events.event_period
            and windows.window_end >= high_risk_events.event_period
    group by windows.institution_code, windows.period
),

events as (
    select
        windows.institution_code,
        windows.period,
        coalesce(observed.quarters_observed, 0) as quarters_observed,
        first_events.first_period as first_event_period  -- null only when the window holds no event
    from windows
    left join observed
        on
            windows.institution_code = observed.institution_code
            and windows.period = observed.period
    left join first_events
        on
            windows.institution_code = first_events.institution_code
            and windows.period = first_events.period
),

final as (
    select
        institution_code,
        period,
        quarters_observed::int as quarters_observed,
        first_event_period,
        case
            when first_event_period is not null then 1
            when quarters_observed > 0 then 0
        end as label_high_risk_4q
    from events
)

select * from final
