-- The latest score of each entity: its latest scored period, and within it the most recently scored
-- model version (the scorer writes the champion's scores; a re-score supersedes). Empty until the
-- scoring DAG has run, which every consumer tolerates (left joins).
with

source as (
    select * from {{ source('ml', 'risk_scores') }}
),

latest as (
    select distinct on (entity_type, entity_id)
        entity_type,
        entity_id,
        period as score_period,
        model_name,
        model_version,
        probability as risk_probability,
        warning_level as risk_warning_level,
        reasons as risk_reasons,
        scored_at
    from source
    order by entity_type asc, entity_id asc, period desc, scored_at desc
)

select * from latest
