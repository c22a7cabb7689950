-- Capital adequacy per institution and quarter against the regulatory minimums.
with

capital as (
    select * from {{ ref('stg_submissions__capital_reports') }}
),

institutions as (
    select * from {{ ref('stg_submissions__institutions') }}
),

thresholds as (
    select
        max(case when indicator_code = 'total_car' then threshold_value end) as car_minimum,
        max(case when indicator_code = 'tier1_car' then threshold_value end) as tier1_minimum,
        max(case when indicator_code = 'cet1_car' then threshold_value end) as cet1_minimum
    from {{ ref('regulatory_thresholds') }}
    where institution_type = '*'
),

ratios as (
    select
        capital.institution_code,
        capital.report_period,
        capital.total_capital,
        capital.tier1_capital,
        capital.cet1_capital,
        capital.total_rwa,
        round(capital.total_capital / nullif(capital.total_rwa, 0), 6) as capital_adequacy_ratio,
        round(capital.tier1_capital / nullif(capital.total_rwa, 0), 6) as tier1_capital_ratio,
        round(capital.cet1_capital / nullif(capital.total_rwa, 0), 6) as cet1_capital_ratio,
        capital.batch_id
    from capital
),

final as (
    select
        ratios.institution_code,
        institutions.institution_name,
        institutions.institution_type,
        institutions.bureau_code,
        ratios.report_period,
        ratios.total_capital,
        ratios.tier1_capital,
        ratios.cet1_capital,
        ratios.total_rwa,
        ratios.capital_adequacy_ratio,
        ratios.tier1_capital_ratio,
        ratios.cet1_capital_ratio,
        thresholds.car_minimum,
        ratios.capital_adequacy_ratio < thresholds.car_minimum as car_below_minimum,
        ratios.tier1_capital_ratio < thresholds.tier1_minimum as tier1_below_minimum,
        ratios.cet1_capital_ratio < thresholds.cet1_minimum as cet1_below_minimum,
        ratios.batch_id as source_batch_id
    from ratios
    cross join thresholds
    left join institutions
        on
            ratios.institution_code = institutions.institution_code
            and ratios.report_period = institutions.report_period
)

select * from final
