-- run-as: scorer
-- The contract between the early-warning models (ml/, written by the scorer role) and the warehouse
-- (dbt, transformer reads ml through the default privileges of 001). Serving marts left-join the latest
-- scores into the portraits and the warnings list.

create table if not exists ml.risk_scores (
    entity_type    text not null check (entity_type in ('institution', 'firm')),
    entity_id      text not null,            -- institution code, or firm USCC
    period         date not null,            -- the period the features describe (quarter or month end)
    model_name     text not null,
    model_version  text not null,
    probability    double precision not null check (probability between 0 and 1),
    warning_level  text not null check (warning_level in ('red', 'orange', 'yellow', 'blue', 'none')),
    reasons        jsonb not null default '[]'::jsonb,  -- [{"feature", "value", "contribution", "text_zh", "text_en"}]
    overrides      jsonb not null default '[]'::jsonb,  -- rule overrides that raised the level, with their rule
    scored_at      timestamptz not null default now(),
    run_id         text,
    primary key (entity_type, entity_id, period, model_name, model_version)
);
comment on table ml.risk_scores is
    'Early-warning scores of the champion models, one row per entity, period and model version / 预警模型评分';

create table if not exists ml.feature_drift (
    model_name     text not null,
    model_version  text not null,
    period         date not null,
    feature        text not null,
    psi            double precision not null,
    level          text not null check (level in ('stable', 'moderate', 'large')),
    computed_at    timestamptz not null default now(),
    primary key (model_name, model_version, period, feature)
);
comment on table ml.feature_drift is
    'Population stability index per feature between training and scoring data / 特征漂移 (PSI)';
