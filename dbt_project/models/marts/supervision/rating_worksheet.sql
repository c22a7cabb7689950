-- Supervisory rating worksheet (issue #16 item 1): per institution and year the quantitative part of
-- the commercial-bank rating (components and weights: seed rating_components, citing 银保监发〔2021〕39号),
-- a score per component, the weighted total, the proposed grade and sub-grade (seed rating_grade_bands),
-- the supervisor's override (ops.rating_override_current: who and why) and the change on last year.
-- Formulas:
--   measure score = 100 * clamp((value - zero_at) / (full_at - zero_at), 0, 1)    (seed rating_scoring)
--   component score = sum(measure_weight * measure score) / sum(measure_weight) over the measures known
--   total score = sum(weight * component score) / sum(weight) over the components scored (unscored
--     components, e.g. market and IT risk, have their weight redistributed pro rata)
--   final grade = the override's grade if any, else the proposed grade; grade_change = final grade
--     minus last year's grade (the regulator's recorded rating, else last year's worksheet grade), S = null
with

measures as (
    select * from {{ ref('int_supervision__rating_measures') }}
),

components as (
    select * from {{ ref('rating_components') }}
),

scoring as (
    select * from {{ ref('rating_scoring') }}
),

bands as (
    select * from {{ ref('rating_grade_bands') }}
),

ratings as (
    select * from {{ ref('stg_submissions__supervisory_ratings') }}
),

overrides as (
    select * from {{ source('ops_actions', 'rating_override_current') }}
),

institutions as (
    select * from {{ ref('int_entities__institutions') }}
),

measure_scores as (
    select
        measures.institution_code,
        measures.rating_year,
        measures.as_of_period,
        scoring.component_code,
        measures.measure_code,
        measures.measure_value,
        scoring.measure_weight,
        100 * least(1, greatest(
            0,
            (measures.measure_value - scoring.zero_at) / nullif(scoring.full_at - scoring.zero_at, 0)
        )) as measure_score,
        measures.source_batch_ids
    from measures
    inner join institutions on measures.institution_code = institutions.institution_code
    inner join scoring
        on
            measures.measure_code = scoring.measure_code
            and (
                scoring.applies_to = '*'
                or institutions.institution_type = scoring.applies_to
                or (scoring.applies_to = 'bank' and {{ is_bank_type('institutions.institution_type') }})
            )
),

component_scores as (
    select
        institution_code,
        rating_year,
        component_code,
        sum(measure_weight * measure_score) / sum(measure_weight) as component_score
    from measure_scores
    group by institution_code, rating_year, component_code
),

pivoted as (
    select
        component_scores.institution_code,
        component_scores.rating_year,
        {%- for c in ['capital', 'asset_quality', 'governance', 'liquidity', 'market_risk', 'profitability',
                      'it_risk', 'data_quality'] %}
        max(component_scores.component_score) filter (
            where component_scores.component_code = '{{ c }}'
        ) as {{ c }}_score,
        {%- endfor %}
        sum(components.weight * component_scores.component_score) / sum(components.weight) as total_score,
        sum(components.weight) as weight_scored
    from component_scores
    inner join components on component_scores.component_code = components.component_code
    group by component_scores.institution_code, component_scores.rating_year
),

evidence as (
    select
        institution_code,
        rating_year,
        max(as_of_period) as as_of_period,
        jsonb_object_agg(measure_code, round(measure_value, 6)) as measures,
        max(source_batch_ids) filter (where cardinality(source_batch_ids) > 0) as source_batch_ids
    from measure_scores
    group by institution_code, rating_year
),

proposed as (
    select
        pivoted.*,
        bands.grade as proposed_grade,
        bands.sub_grade as proposed_sub_grade
    from pivoted
    left join bands
        on
            pivoted.total_score >= bands.min_score
            and pivoted.total_score < bands.max_score
),

official as (
    select distinct on (institution_code, extract(year from report_period))
        institution_code,
        extract(year from report_period)::integer as rating_year,
        rating
    from ratings
    order by institution_code asc, extract(year from report_period), report_period desc
),

decided as (
    select
        proposed.*,
        overrides.grade as override_grade,
        overrides.sub_grade as override_sub_grade,
        overrides.reason as override_reason,
        overrides.decided_by as override_by,
        overrides.decided_at as override_at,
        coalesce(overrides.grade, proposed.proposed_grade::text) as final_grade
    from proposed
    left join overrides
        on
            proposed.institution_code = overrides.institution_code
            and proposed.rating_year = overrides.rating_year
),

final as (
    select
        decided.institution_code,
        institutions.institution_name,
        institutions.institution_type,
        coalesce(institutions.bureau_code, '{{ var("national_bureau_code") }}') as bureau_code,
        decided.rating_year,
        evidence.as_of_period,
        {%- for c in ['capital', 'asset_quality', 'governance', 'liquidity', 'market_risk', 'profitability',
                      'it_risk', 'data_quality'] %}
        round(decided.{{ c }}_score, 2) as {{ c }}_score,
        {%- endfor %}
        decided.weight_scored,
        round(decided.total_score, 2) as total_score,
        decided.proposed_grade::text as proposed_grade,
        decided.proposed_sub_grade,
        decided.override_grade,
        decided.override_sub_grade,
        decided.override_reason,
        decided.override_by,
        decided.override_at,
        decided.final_grade,
        coalesce(official.rating, last_year.final_grade) as last_year_grade,
        case
            when decided.final_grade ~ '^[1-6]$' and coalesce(official.rating, last_year.final_grade) ~ '^[1-6]$'
                then decided.final_grade::integer - coalesce(official.rating, last_year.final_grade)::integer
        end as grade_change,
        official_this_year.rating as recorded_rating,
        evidence.measures,
        evidence.source_batch_ids
    from decided
    inner join evidence
        on
            decided.institution_code = evidence.institution_code
            and decided.rating_year = evidence.rating_year
    left join institutions on decided.institution_code = institutions.institution_code
    left join decided as last_year
        on
            decided.institution_code = last_year.institution_code
            and decided.rating_year = last_year.rating_year + 1
    left join official
        on
            decided.institution_code = official.institution_code
            and decided.rating_year = official.rating_year + 1
    left join official as official_this_year
        on
            decided.institution_code = official_this_year.institution_code
            and decided.rating_year = official_this_year.rating_year
)

select * from final
