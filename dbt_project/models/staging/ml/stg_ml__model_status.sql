-- Whether each early-warning panel (entity type) has a model scoring it, and if not why: the portraits
-- and the warnings list show "no model: too few cases ..." instead of a level. Empty until the scoring
-- DAG has run, which every consumer tolerates (left joins).
with

source as (
    select * from {{ source('ml', 'model_status') }}
),

latest as (
    select distinct on (entity_type)
        entity_type,
        model_name as status_model_name,
        status as risk_model_status,
        short_en as risk_model_short_en,
        reason_en as risk_model_note_en,
        reason_zh as risk_model_note_zh,
        updated_at as risk_model_status_at
    from source
    order by entity_type asc, updated_at desc
)

select * from latest
