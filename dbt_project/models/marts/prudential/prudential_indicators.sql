-- Prudential indicators in long form: one row per institution, quarter and indicator, against the
-- threshold that applies to the institution (type and tier), with its rule, the breach flag, the
-- institution's percentile among its peers (same type and quarter), the change on the previous quarter,
-- the four-quarter trend, and the gap between the reported figure and the one re-derived from detail.
with

indicators as (
    select * from {{ ref('int_prudential__indicators') }}
),

loan_book as (
    select * from {{ ref('int_prudential__loan_book_quarterly') }}
),

thresholds as (
    select * from {{ ref('regulatory_thresholds') }}
),

detail_ratios as (
    select
        loan_book.institution_code,
        loan_book.period,
        loan_book.npl_balance / nullif(loan_book.total_loans, 0) as npl_ratio,
        loan_book.largest_customer_exposure / nullif(indicators.total_capital, 0) as largest_single_customer_ratio,
        loan_book.top10_customer_exposure / nullif(indicators.total_capital, 0) as top10_customer_ratio,
        (loan_book.real_estate_development_loans + loan_book.mortgage_loans)
        / nullif(loan_book.total_loans, 0) as real_estate_loan_share,
        loan_book.mortgage_loans / nullif(loan_book.total_loans, 0) as mortgage_share,
        loan_book.source_batch_id
    from loan_book
    inner join indicators
        on
            loan_book.institution_code = indicators.institution_code
            and loan_book.period = indicators.period
),

long_form as (
    select
        indicators.institution_code,
        indicators.institution_type,
        indicators.bureau_code,
        indicators.size_tier,
        indicators.period,
        indicator_values.indicator_code,
        indicator_values.indicator_value,
        -- traceability (#16): the accepted report batch(es) the indicator is computed from
        array_remove(case
            when indicator_values.indicator_code in ('total_car', 'tier1_car', 'cet1_car')
                then array[indicators.capital_batch_id]
            when indicator_values.indicator_code in ('npl_ratio', 'provision_coverage', 'loan_provision_ratio')
                then array[indicators.asset_quality_batch_id]
            when indicator_values.indicator_code in ('liquidity_ratio', 'lcr')
                then array[indicators.liquidity_batch_id]
            when indicator_values.indicator_code = 'loan_to_deposit'
                then array[indicators.deposits_loans_batch_id]
            when
                indicator_values.indicator_code in (
                    'largest_single_customer_ratio', 'top10_customer_ratio', 'real_estate_loan_share', 'mortgage_share'
                )
                then array[indicators.concentration_batch_id]
            when indicator_values.indicator_code = 'roa' then array[indicators.profitability_batch_id]
            when indicator_values.indicator_code = 'solvency_ratio' then array[indicators.solvency_batch_id]
        end, null) as source_batch_ids
    from indicators
    {{ unpivot_indicators('indicators') }}
    where indicator_values.indicator_value is not null
),

with_detail as (
    select
        long_form.*,
        case long_form.indicator_code
            when 'npl_ratio' then detail_ratios.npl_ratio
            when 'largest_single_customer_ratio' then detail_ratios.largest_single_customer_ratio
            when 'top10_customer_ratio' then detail_ratios.top10_customer_ratio
            when 'real_estate_loan_share' then detail_ratios.real_estate_loan_share
            when 'mortgage_share' then detail_ratios.mortgage_share
        end as detail_value,
        case
            when
                long_form.indicator_code in (
                    'npl_ratio', 'largest_single_customer_ratio', 'top10_customer_ratio', 'real_estate_loan_share',
                    'mortgage_share'
                )
                then detail_ratios.source_batch_id
        end as detail_batch_id
    from long_form
    left join detail_ratios
        on
            long_form.institution_code = detail_ratios.institution_code
            and long_form.period = detail_ratios.period
),

with_threshold as (
    select
        with_detail.*,
        thresholds.comparator,
        thresholds.threshold_value,
        thresholds.rule_reference_zh,
        thresholds.rule_reference_en
    from with_detail
    left join thresholds
        on
            with_detail.indicator_code = thresholds.indicator_code
            and {{ threshold_applies('thresholds', 'with_detail.institution_type', 'with_detail.size_tier') }}
),

peers as (
    select
        institution_type,
        period,
        indicator_code,
        percentile_cont(0.5) within group (order by indicator_value) as peer_median
    from with_threshold
    group by institution_type, period, indicator_code
),

measured as (
    select
        with_threshold.institution_code,
        with_threshold.institution_type,
        with_threshold.bureau_code,
        with_threshold.size_tier,
        with_threshold.period,
        with_threshold.indicator_code,
        with_threshold.indicator_value,
        with_threshold.comparator,
        with_threshold.threshold_value,
        coalesce({{ breaches('with_threshold', 'indicator_value') }}, false) as is_breach,
        with_threshold.rule_reference_zh,
        with_threshold.rule_reference_en,
        percent_rank() over (
            partition by with_threshold.institution_type, with_threshold.period, with_threshold.indicator_code
            order by with_threshold.indicator_value
        ) as peer_percentile,
        with_threshold.indicator_value - lag(with_threshold.indicator_value) over (
            partition by with_threshold.institution_code, with_threshold.indicator_code order by with_threshold.period
        ) as qoq_change,
        -- least-squares slope over the last four quarters, per quarter (91.3 days)
        regr_slope(with_threshold.indicator_value, extract(epoch from with_threshold.period) / 7889400.0) over (
            partition by with_threshold.institution_code, with_threshold.indicator_code order by with_threshold.period
            rows between 3 preceding and current row
        ) as trend_4q_slope,
        count(*) over (
            partition by with_threshold.institution_code, with_threshold.indicator_code order by with_threshold.period
            rows between 3 preceding and current row
        ) as trend_4q_points,
        with_threshold.detail_value,
        with_threshold.indicator_value - with_threshold.detail_value as reported_vs_detail_gap,
        with_threshold.source_batch_ids,
        with_threshold.detail_batch_id
    from with_threshold
),

final as (
    select
        measured.*,
        peers.peer_median
    from measured
    left join peers
        on
            measured.institution_type = peers.institution_type
            and measured.period = peers.period
            and measured.indicator_code = peers.indicator_code
)

select * from final
