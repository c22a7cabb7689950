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

-- the events of each quarter (its three calendar months, macro in_calendar_months): joined on the institution and
-- aggregated once, instead of four sub-queries per quarter that each scanned every alert and penalty
-- (their cost grew with the square of the history)
quarter_interventions as (
    select
        indicators.institution_code,
        indicators.period,
        count(*) as interventions_in_quarter
    from indicators
    inner join interventions
        on
            indicators.institution_code = interventions.institution_code
            and {{ in_calendar_months('interventions.measure_date', 'indicators.period', 3) }}
    group by indicators.institution_code, indicators.period
),

quarter_penalties as (
    select
        indicators.institution_code,
        indicators.period,
        count(*) as penalties_in_quarter,
        sum(penalties.amount_cny) as penalty_amount_in_quarter
    from indicators
    inner join penalties
        on
            indicators.institution_code = penalties.institution_code
            and {{ in_calendar_months('penalties.decision_date', 'indicators.period', 3) }}
    group by indicators.institution_code, indicators.period
),

quarter_alerts as (
    select
        indicators.institution_code,
        indicators.period,
        count(distinct alerts.account_no) as flow_alert_accounts_in_quarter
    from indicators
    inner join alerts
        on
            indicators.institution_code = alerts.institution_code
            and {{ in_calendar_months('alerts.period', 'indicators.period', 3) }}
    group by indicators.institution_code, indicators.period
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
        coalesce(quarter_interventions.interventions_in_quarter, 0) as interventions_in_quarter,
        coalesce(quarter_penalties.penalties_in_quarter, 0) as penalties_in_quarter,
        coalesce(quarter_penalties.penalty_amount_in_quarter, 0) as penalty_amount_in_quarter,
        coalesce(quarter_alerts.flow_alert_accounts_in_quarter, 0) as flow_alert_accounts_in_quarter,
        quarter_scores.probability as risk_probability,
        quarter_scores.warning_level as risk_warning_level,
        quarter_scores.reasons as risk_reasons
    from indicators
    left join institutions on indicators.institution_code = institutions.institution_code
    left join ratings
        on
            indicators.institution_code = ratings.institution_code
            and indicators.period = ratings.report_period
    left join quarter_interventions
        on
            indicators.institution_code = quarter_interventions.institution_code
            and indicators.period = quarter_interventions.period
    left join quarter_penalties
        on
            indicators.institution_code = quarter_penalties.institution_code
            and indicators.period = quarter_penalties.period
    left join quarter_alerts
        on
            indicators.institution_code = quarter_alerts.institution_code
            and indicators.period = quarter_alerts.period
    left join quarter_scores
        on
            indicators.institution_code = quarter_scores.entity_id
            and indicators.period = quarter_scores.period
)

select * from final
