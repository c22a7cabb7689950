-- The firm panel the models train and score on: the point-in-time features with the label next to them.
-- The label is the six-month one of firm_month_labels, kept only where all six months it looks ahead to
-- are observed (months_observed = label_window_months()): a right-censored label (the latest labelled
-- months: 1 to 5 of the 6 observed so far) says "no case yet", not "no case within six months", and a
-- model predicting the six-month probability must not be fitted, calibrated or judged against it (the
-- default split holds out the LATEST months: bench/README "Early-warning models", 7 Dec censor8). Null
-- otherwise: the latest month is scored, the censored ones are neither trained on nor judged; a case
-- already seen in a censored window stays visible in first_case_period / first_case_type, and
-- months_observed stays for supervisors.
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
        case when labels.months_observed = {{ label_window_months() }} then labels.label_case_6m end as label_case_6m,
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
