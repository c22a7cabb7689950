-- The quantitative measures of the rating worksheet, one row per institution, year and measure:
-- the prudential indicators of the institution's last reported quarter of the year, the number of
-- administrative penalty decisions against it in the year (governance proxy), and its data-quality
-- rate (mean of the first-delivery acceptance rate and the on-time share over the year's periods).
with

indicators as (
    select * from {{ ref('int_prudential__indicators') }}
),

penalties as (
    select * from {{ ref('stg_external__penalties') }}
),

dq as (
    select * from {{ ref('dq_scorecard') }}
),

year_end as (
    select distinct on (institution_code, extract(year from period))
        *,
        extract(year from period)::integer as rating_year
    from indicators
    order by institution_code asc, extract(year from period), period desc
),

indicator_measures as (
    select
        year_end.institution_code,
        year_end.rating_year,
        year_end.period as as_of_period,
        indicator_values.indicator_code as measure_code,
        indicator_values.indicator_value as measure_value,
        array_remove(array[
            year_end.capital_batch_id, year_end.asset_quality_batch_id, year_end.liquidity_batch_id,
            year_end.concentration_batch_id, year_end.profitability_batch_id, year_end.deposits_loans_batch_id,
            year_end.solvency_batch_id
        ], null) as source_batch_ids
    from year_end
    {{ unpivot_indicators('year_end') }}
    where indicator_values.indicator_value is not null
),

penalty_measures as (
    select
        year_end.institution_code,
        year_end.rating_year,
        year_end.period as as_of_period,
        'penalty_decisions' as measure_code,
        count(penalties.decision_no)::numeric as measure_value,
        '{}'::bigint[] as source_batch_ids
    from year_end
    left join penalties
        on
            year_end.institution_code = penalties.institution_code
            and penalties.party_type = '机构'
            and extract(year from penalties.decision_date) = year_end.rating_year
    group by year_end.institution_code, year_end.rating_year, year_end.period
),

dq_measures as (
    select
        year_end.institution_code,
        year_end.rating_year,
        year_end.period as as_of_period,
        'dq_quality_rate' as measure_code,
        (
            avg(dq.first_delivery_acceptance_rate)
            + avg(case when dq.on_time then 1.0 when not dq.on_time then 0.0 end)
        ) / 2 as measure_value,
        '{}'::bigint[] as source_batch_ids
    from year_end
    inner join dq
        on
            year_end.institution_code = dq.institution_code
            and extract(year from dq.period) = year_end.rating_year
    group by year_end.institution_code, year_end.rating_year, year_end.period
),

final as (
    select * from indicator_measures
    union all
    select * from penalty_measures
    union all
    select * from dq_measures
)

select * from final
