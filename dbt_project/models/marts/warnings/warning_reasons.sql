-- The early-warning model's reasons, flattened: one row per scored entity and reason (rank 1 = the
-- reason that moves the risk most), for BI tools that cannot read JSONB. Empty until scoring runs.
with

institution_reasons as (
    select
        'institution' as entity_type,
        institution_code as entity_id,
        institution_name as entity_name,
        bureau_code,
        score_period,
        risk_warning_level,
        risk_reasons
    from {{ ref('institution_portrait') }}
    where risk_reasons is not null
),

firm_reasons as (
    select
        'firm' as entity_type,
        firm_uscc as entity_id,
        firm_name as entity_name,
        bureau_code,
        score_period,
        risk_warning_level,
        risk_reasons
    from {{ ref('firm_portrait') }}
    where risk_reasons is not null
),

scored as (
    select * from institution_reasons
    union all
    select * from firm_reasons
),

final as (
    select
        scored.entity_type,
        scored.entity_id,
        scored.entity_name,
        scored.bureau_code,
        scored.score_period,
        scored.risk_warning_level,
        reason.reason_rank::int as reason_rank,
        reason.item ->> 'feature' as feature,
        reason.item ->> 'text_zh' as reason_zh,
        reason.item ->> 'text_en' as reason_en,
        (reason.item ->> 'value')::numeric(20, 6) as feature_value,
        (reason.item ->> 'peer_median')::numeric(20, 6) as peer_median,
        reason.item ->> 'direction' as direction
    from scored
    cross join lateral jsonb_array_elements(scored.risk_reasons) with ordinality as reason (item, reason_rank)
)

select * from final
