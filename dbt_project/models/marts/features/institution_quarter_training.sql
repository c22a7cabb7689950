-- The institution panel the models train and score on: the point-in-time features with the label
-- next to them. The label is the four-quarter one of institution_quarter_labels, kept only where all
-- four quarters it looks ahead to are observed (quarters_observed = 4): a right-censored label (the
-- latest labelled periods: 1 to 3 of the 4 quarters rated so far) says "no event yet", not "no event
-- within four quarters", and a model predicting the four-quarter probability must not be fitted,
-- calibrated or judged against it (bench/README "Early-warning models", 7 Dec). Null otherwise: the
-- latest period is scored, the censored ones are neither trained on nor scored.
-- Every column of the features but their build watermarks (built_*: which build wrote the row, not data).
with

features as (
    select * from {{ ref('institution_quarter_features') }}
),

labels as (
    select * from {{ ref('institution_quarter_labels') }}
),

final as (
    select
        {{ columns_but_built(ref('institution_quarter_features'), 'features') }},
        case when labels.quarters_observed = 4 then labels.label_high_risk_4q end as label_high_risk_4q,
        labels.quarters_observed,
        labels.first_event_period
    from features
    left join labels
        on
            features.institution_code = labels.institution_code
            and features.period = labels.period
)

select * from final
