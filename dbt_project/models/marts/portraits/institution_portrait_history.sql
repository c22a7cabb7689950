-- Institution portrait per quarter: who it is, its prudential indicators and breaches, its supervisory
-- rating for the quarter, interventions and penalties in the quarter, flow alerts at its accounts, and
-- the early-warning model's score for the quarter (if scored).
with

indicators as (
    select * from {{ ref('int_prudential__indicators') }}
),

institutions as (
    select * from {{ ref('int_entities__institutions') }}
),

ratings as (
    select * from {{ ref('stg_submissions__supervisory_ratings') }}
),

interventions as (
    select * from {{ ref('stg_submissions__interventions') }}
),

penalties as (
    select * from {{ ref('stg_external__penalties') }}
),

alerts as (
    select * from {{ ref('flow_alerts') }}
),

scores as (
    select * from {{ source('ml', 'risk_scores') }}
),

quarter_scores as (
    select distinct on (entity_id, period)
        entity_id,
        period,
        probability,
        warning_level,
        reasons
    from scores
    where entity_type = 'institution'
    order by entity_id asc, period asc, scored_at desc
),

quarter_events as (
    select
        indicators.institution_code,
        indicators.period,
        (
            select count(*) from interventions
            where
                interventions.institution_code = indicators.institution_code
                and interventions.measure_date > indicators.period - interval '3 months'
                and interventions.measure_date <= indicators.period
        ) as interventions_in_quarter,
        (
            select count(*) from penalties
            where
                penalties.institution_code = indicators.institution_code
                and penalties.decision_date > indicators.period - interval '3 months'
                and penalties.decision_date <= indicators.period
        ) as penalties_in_quarter,
        (
            select coalesce(sum(penalties.amount_cny), 0) from penalties
            where
                penalties.institution_code = indicators.institution_code
                and penalties.decision_date > indicators.period - interval '3 months'
                and penalties.decision_date <= indicators.period
        ) as penalty_amount_in_quarter,
        (
            select count(distinct alerts.account_no) from alerts
            where
                alerts.institution_code = indicators.institution_code
                and alerts.period > indicators.period - interval '3 months'
                and alerts.period <= indicators.period
        ) as flow_alert_accounts_in_quarter
    from indicators
),

final as (
    select
        indicators.institution_code,
        indicators.period,
        institutions.institution_key,
        institutions.institution_name,
        indicators.institution_type,
        indicators.bureau_code,
        indicators.region_code,
        indicators.size_tier,
        indicators.total_car,
        indicators.tier1_car,
        indicators.cet1_car,
        indicators.npl_ratio,
        indicators.provision_coverage,
        indicators.loan_provision_ratio,
        indicators.liquidity_ratio,
        indicators.lcr,
        indicators.loan_to_deposit,
        indicators.largest_single_customer_ratio,
        indicators.top10_customer_ratio,
        indicators.real_estate_loan_share,
        indicators.mortgage_share,
        indicators.roa,
        indicators.solvency_ratio,
        indicators.breach_count,
        ratings.rating as supervisory_rating,
        ratings.rated_at,
        quarter_events.interventions_in_quarter,
        quarter_events.penalties_in_quarter,
        quarter_events.penalty_amount_in_quarter,
        quarter_events.flow_alert_accounts_in_quarter,
        quarter_scores.probability as risk_probability,
        quarter_scores.warning_level as risk_warning_level,
        quarter_scores.reasons as risk_reasons
    from indicators
    left join institutions on indicators.institution_code = institutions.institution_code
    left join ratings
        on
            indicators.institution_code = ratings.institution_code
            and indicators.period = ratings.report_period
    left join quarter_events
        on
            indicators.institution_code = quarter_events.institution_code
            and indicators.period = quarter_events.period
    left join quarter_scores
        on
            indicators.institution_code = quarter_scores.entity_id
            and indicators.period = quarter_scores.period
)

select * from final
