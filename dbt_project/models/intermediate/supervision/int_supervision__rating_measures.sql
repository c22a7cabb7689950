-- The quantitative measures of the rating worksheet, one row per institution, year and measure:
-- the prudential indicators of the institution's last reported quarter of the year (the NPL ratio at
-- least the one re-derived from the loan detail, so hidden bad loans do not score), the number of
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

loan_book as (
    select * from {{ ref('int_prudential__loan_book_quarterly') }}
),

year_end as (
    select distinct on (indicators.institution_code, extract(year from indicators.period))
        indicators.*,
        extract(year from indicators.period)::integer as rating_year,
        loan_book.npl_balance / nullif(loan_book.total_loans, 0) as detail_npl_ratio
    from indicators
    left join loan_book
        on
            indicators.institution_code = loan_book.institution_code
            and indicators.period = loan_book.period
    order by indicators.institution_code asc, extract(year from indicators.period), indicators.period desc
),

indicator_measures as (
    select
        year_end.institution_code,
        year_end.rating_year,
        year_end.period as as_of_period,
        indicator_values.indicator_code as measure_code,
        -- an NPL ratio understated against the loan detail is scored at the detail's value
        case
            when indicator_values.indicator_code = 'npl_ratio'
                then greatest(indicator_values.indicator_value, year_end.detail_npl_ratio)
            else indicator_values.indicator_value
        end as measure_value,
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
