-- One portrait per institution: its latest attributes, its latest quarter's indicators and rating,
-- totals of penalties, open cases and flow alerts, its data quality as a reporter over the last twelve
-- months of periods, its loans to red and orange real-estate developers at its latest loan month end
-- (bank_red_line_exposure), and the latest early-warning score with its reasons.
with

institutions as (
    select * from {{ ref('int_entities__institutions') }}
),

history as (
    select * from {{ ref('institution_portrait_history') }}
),

penalties as (
    select * from {{ ref('stg_external__penalties') }}
),

cases as (
    select * from {{ ref('stg_submissions__regulator_cases') }}
),

alerts as (
    select * from {{ ref('flow_alerts') }}
),

scorecard as (
    select * from {{ ref('dq_scorecard') }}
),

scores as (
    select * from {{ ref('stg_ml__latest_risk_scores') }}
),

model_status as (
    select * from {{ ref('stg_ml__model_status') }}
),

red_line_exposure as (
    select * from {{ ref('bank_red_line_exposure') }}
),

latest_loan_month as (
    select
        institution_code,
        max(report_period) as period
    from {{ ref('stg_submissions__loans') }}
    group by institution_code
),

latest_red_line_exposure as (
    select
        red_line_exposure.institution_code,
        red_line_exposure.period as red_line_exposure_period,
        coalesce(sum(red_line_exposure.loan_balance) filter (where red_line_exposure.colour = 'red'), 0)
            as red_developer_loans,
        coalesce(sum(red_line_exposure.loan_balance) filter (where red_line_exposure.colour = 'orange'), 0)
            as orange_developer_loans,
        coalesce(
            sum(red_line_exposure.developer_count) filter (where red_line_exposure.colour in ('red', 'orange')), 0
        ) as red_orange_developers,
        (
            coalesce(
                sum(red_line_exposure.loan_balance) filter (where red_line_exposure.colour in ('red', 'orange')), 0
            )
            / nullif(max(red_line_exposure.corporate_loans), 0)
        )::numeric(12, 6) as red_orange_share_of_corporate_loans
    from red_line_exposure
    inner join latest_loan_month
        on
            red_line_exposure.institution_code = latest_loan_month.institution_code
            and red_line_exposure.period = latest_loan_month.period
    group by red_line_exposure.institution_code, red_line_exposure.period
),

latest_quarter as (
    select distinct on (institution_code) *
    from history
    order by institution_code asc, period desc
),

penalty_totals as (
    select
        institution_code,
        count(*) as penalty_count,
        sum(amount_cny) as penalty_amount,
        max(decision_date) as last_penalty_date
    from penalties
    group by institution_code
),

case_totals as (
    select
        institution_code,
        count(*) as case_count,
        max(opened_date) as last_case_opened
    from cases
    where entity_type = '机构'
    group by institution_code
),

alert_totals as (
    select
        institution_code,
        count(distinct account_no) as flow_alert_accounts,
        max(period) as last_flow_alert_period
    from alerts
    group by institution_code
),

last_dq_period as (
    select
        institution_code,
        max(period) as last_period
    from scorecard
    group by institution_code
),

dq_last_12m as (
    select
        scorecard.institution_code,
        count(*) as dq_periods,
        count(*) filter (where not scorecard.on_time) as dq_late_periods,
        count(*) filter (where scorecard.versions_needed > 1) as dq_resubmitted_periods,
        count(*) filter (where not scorecard.period_accepted) as dq_unaccepted_periods,
        sum(scorecard.critical_rule_failures) as dq_critical_rule_failures
    from scorecard
    inner join last_dq_period on scorecard.institution_code = last_dq_period.institution_code
    where scorecard.period > last_dq_period.last_period - interval '12 months'
    group by scorecard.institution_code
),

final as (
    select
        institutions.institution_code,
        institutions.institution_key,
        institutions.licence_no,
        institutions.uscc,
        institutions.institution_name,
        institutions.institution_type,
        institutions.bureau_code,
        institutions.region_code,
        institutions.size_tier,
        institutions.established_date,
        institutions.last_reported_period,
        institutions.has_institution_record,
        latest_quarter.period as latest_quarter,
        latest_quarter.total_car::numeric(12, 6) as total_car,
        latest_quarter.npl_ratio::numeric(12, 6) as npl_ratio,
        latest_quarter.provision_coverage::numeric(12, 6) as provision_coverage,
        latest_quarter.liquidity_ratio::numeric(12, 6) as liquidity_ratio,
        latest_quarter.lcr::numeric(12, 6) as lcr,
        latest_quarter.roa::numeric(12, 6) as roa,
        latest_quarter.solvency_ratio::numeric(12, 6) as solvency_ratio,
        latest_quarter.breach_count,
        latest_quarter.supervisory_rating,
        coalesce(penalty_totals.penalty_count, 0) as penalty_count,
        coalesce(penalty_totals.penalty_amount, 0) as penalty_amount,
        penalty_totals.last_penalty_date,
        coalesce(case_totals.case_count, 0) as case_count,
        coalesce(alert_totals.flow_alert_accounts, 0) as flow_alert_accounts,
        alert_totals.last_flow_alert_period,
        dq_last_12m.dq_periods,
        dq_last_12m.dq_late_periods,
        dq_last_12m.dq_resubmitted_periods,
        dq_last_12m.dq_unaccepted_periods,
        dq_last_12m.dq_critical_rule_failures,
        latest_red_line_exposure.red_line_exposure_period,
        coalesce(latest_red_line_exposure.red_developer_loans, 0) as red_developer_loans,
        coalesce(latest_red_line_exposure.orange_developer_loans, 0) as orange_developer_loans,
        coalesce(latest_red_line_exposure.red_orange_developers, 0) as red_orange_developers,
        coalesce(latest_red_line_exposure.red_orange_share_of_corporate_loans, 0)
            as red_orange_share_of_corporate_loans,
        scores.score_period,
        scores.model_name,
        scores.model_version,
        scores.risk_probability,
        scores.risk_warning_level,
        scores.risk_reasons,
        model_status.risk_model_status,
        model_status.risk_model_short_en,
        model_status.risk_model_note_en,
        model_status.risk_model_note_zh
    from institutions
    left join latest_quarter on institutions.institution_code = latest_quarter.institution_code
    left join penalty_totals on institutions.institution_code = penalty_totals.institution_code
    left join case_totals on institutions.institution_code = case_totals.institution_code
    left join alert_totals on institutions.institution_code = alert_totals.institution_code
    left join dq_last_12m on institutions.institution_code = dq_last_12m.institution_code
    left join latest_red_line_exposure on institutions.institution_code = latest_red_line_exposure.institution_code
    left join scores
        on
            scores.entity_type = 'institution'
            and institutions.institution_code = scores.entity_id
    left join model_status on model_status.entity_type = 'institution'
)

select * from final
