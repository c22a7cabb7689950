-- The firm panel the models train and score on: the point-in-time features with the label next to them
-- (label null for the latest month, which is scored, not trained on).
-- Choice: months in which the firm already had an illegal-fundraising or enforcement case opened (at t or
-- earlier, prior_case_count > 0) are dropped. The regulator already knows such a firm, so scoring it
-- warns nobody, and keeping it would teach the model to find the cases' own aftermath (frozen accounts,
-- piled-up court records, 暴雷 news) instead of what comes before a case. The firm's earlier months stay.
with

features as (
    select * from {{ ref('firm_month_features') }}
    where prior_case_count = 0
),

labels as (
    select * from {{ ref('firm_month_labels') }}
),

final as (
    select
        features.*,
        labels.label_case_6m,
        labels.months_observed,
        labels.first_case_period,
        labels.first_case_type
    from features
    left join labels
        on
            features.firm_uscc = labels.firm_uscc
            and features.period = labels.period
)

select * from final
