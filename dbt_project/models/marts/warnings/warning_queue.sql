-- The supervisors' work queue: one row per warned entity (institution, firm or account), not one per
-- entity, month and rule as in `warnings` (a firm flagged six months running is one row here, with
-- months_active = 6). Open = warned in the latest period its warning type was evaluated.
with

warnings as (
    select * from {{ ref('warnings') }}
),

latest_period as (
    select
        entity_type,
        max(period) as period
    from warnings
    group by entity_type
),

per_entity as (
    select
        entity_type,
        entity_id,
        max(entity_name) as entity_name,
        max(bureau_code) as bureau_code,
        min(period) as first_seen,
        max(period) as last_seen,
        count(distinct period)::int as months_active,
        count(*)::int as warning_count,
        max(risk_warning_level) as risk_warning_level,
        max(risk_probability)::numeric(6, 4) as risk_probability
    from warnings
    group by entity_type, entity_id
),

latest_rules as (
    select
        warnings.entity_type,
        warnings.entity_id,
        string_agg(distinct warnings.rule_code, ', ' order by warnings.rule_code) as open_rules,
        count(distinct warnings.rule_code)::int as open_rule_count,
        max(case warnings.severity when 'high' then 2 when 'medium' then 1 else 0 end) as severity_rank,
        string_agg(
            warnings.description_zh, '；' order by warnings.rule_code, warnings.description_zh
        ) as open_descriptions_zh
    from warnings
    inner join per_entity
        on
            warnings.entity_type = per_entity.entity_type
            and warnings.entity_id = per_entity.entity_id
            and warnings.period is not distinct from per_entity.last_seen
    group by warnings.entity_type, warnings.entity_id
),

final as (
    select
        per_entity.entity_type,
        per_entity.entity_id,
        per_entity.entity_name,
        per_entity.bureau_code,
        case latest_rules.severity_rank when 2 then 'high' when 1 then 'medium' else 'low' end as current_severity,
        per_entity.risk_warning_level,
        per_entity.risk_probability,
        per_entity.first_seen,
        per_entity.last_seen,
        per_entity.months_active,
        per_entity.warning_count,
        latest_rules.open_rule_count,
        latest_rules.open_rules,
        latest_rules.open_descriptions_zh,
        (
            per_entity.last_seen is null or per_entity.last_seen = latest_period.period
        ) as is_open
    from per_entity
    inner join latest_rules
        on
            per_entity.entity_type = latest_rules.entity_type
            and per_entity.entity_id = latest_rules.entity_id
    left join latest_period
        on per_entity.entity_type = latest_period.entity_type
)

select * from final
