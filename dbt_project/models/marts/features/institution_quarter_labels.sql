-- Labels of the institution early-warning model, from the regulator's own records (REG0000), never
-- from the simulator's answers: label_high_risk_4q = 1 when, in one of the next four quarters
-- (t + 1 .. t + 4), the institution is rated 5, 6 or S, or is taken over (接管). The label is null while
-- no later quarter has been rated yet; quarters_observed says how many of the four are (the last
-- labelled periods are right-censored: their label covers the quarters observed so far). With the var
-- `features_as_of` the labels are those known at that date (records for periods <= it).
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

events as (
    select
        windows.institution_code,
        windows.period,
        (
            select count(*)
            from rated_quarters
            where
                rated_quarters.report_period > windows.period
                and rated_quarters.report_period <= windows.window_end
        ) as quarters_observed,
        least(
            (
                select min(ratings.report_period)
                from ratings
                where
                    ratings.institution_code = windows.institution_code
                    and ratings.report_period > windows.period
                    and ratings.report_period <= windows.window_end
                    and ratings.rating_value >= 5
            ),
            (
                select min(takeovers.event_quarter)
                from takeovers
                where
                    takeovers.institution_code = windows.institution_code
                    and takeovers.event_quarter > windows.period
                    and takeovers.event_quarter <= windows.window_end
            )
        ) as first_event_period
    from windows
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
