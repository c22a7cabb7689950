-- Capital adequacy per institution and quarter against the regulatory minimums: one row per quarter in
-- which the institution delivered a capital report. The ratios and the institution's attributes are
-- int_prudential__indicators' (computed there, once); the minimums are the seed regulatory_thresholds
-- rows that apply to the institution, matched and compared as there (macros threshold_applies, breaches)
-- on the unrounded ratios. The ratios shown are rounded to six decimals.
with

indicators as (
    select * from {{ ref('int_prudential__indicators') }}
    where capital_batch_id is not null
),

thresholds as (
    select * from {{ ref('regulatory_thresholds') }}
),

-- the capital ratios against the thresholds that apply, matched as int_prudential__indicators does
capital_breaches as (
    select
        capital.institution_code,
        capital.period,
        indicator_values.indicator_code,
        thresholds.threshold_value,
        {{ breaches('thresholds', 'indicator_values.indicator_value') }} as is_breach
    from indicators as capital
    {{ unpivot_indicators('capital') }}
    inner join thresholds
        on
            indicator_values.indicator_code = thresholds.indicator_code
            and {{ threshold_applies('thresholds', 'capital.institution_type', 'capital.size_tier') }}
    where indicator_values.indicator_code in ('total_car', 'tier1_car', 'cet1_car')
),

capital_thresholds as (
    select
        institution_code,
        period,
        max(threshold_value) filter (where indicator_code = 'total_car') as car_minimum,
        bool_or(is_breach) filter (where indicator_code = 'total_car') as car_below_minimum,
        bool_or(is_breach) filter (where indicator_code = 'tier1_car') as tier1_below_minimum,
        bool_or(is_breach) filter (where indicator_code = 'cet1_car') as cet1_below_minimum
    from capital_breaches
    group by institution_code, period
),

final as (
    select
        indicators.institution_code,
        indicators.institution_name,
        indicators.institution_type,
        indicators.bureau_code,
        indicators.period,
        indicators.total_capital,
        indicators.tier1_capital,
        indicators.cet1_capital,
        indicators.total_rwa,
        round(indicators.total_car, 6)::numeric(12, 6) as total_car,
        round(indicators.tier1_car, 6)::numeric(12, 6) as tier1_car,
        round(indicators.cet1_car, 6)::numeric(12, 6) as cet1_car,
        capital_thresholds.car_minimum,
        capital_thresholds.car_below_minimum,
        capital_thresholds.tier1_below_minimum,
        capital_thresholds.cet1_below_minimum,
        indicators.capital_batch_id as source_batch_id
    from indicators
    left join capital_thresholds
        on
            indicators.institution_code = capital_thresholds.institution_code
            and indicators.period = capital_thresholds.period
)

select * from final
