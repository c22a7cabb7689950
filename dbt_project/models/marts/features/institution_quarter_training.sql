-- The institution panel the models train and score on: the point-in-time features with the label
-- next to them (label null for the latest periods, which are scored, not trained on).
with

features as (
    select * from {{ ref('institution_quarter_features') }}
),

labels as (
    select * from {{ ref('institution_quarter_labels') }}
),

final as (
    select
        features.*,
        labels.label_high_risk_4q,
        labels.quarters_observed,
        labels.first_event_period
    from features
    left join labels
        on
            features.institution_code = labels.institution_code
            and features.period = labels.period
)

select * from final
