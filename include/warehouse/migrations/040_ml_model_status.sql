-- run-as: scorer
-- Why a panel has (or has no) model scoring it: written by the scorer each time it scores or finds it
-- cannot (ml/status.py). The portraits and the warnings list show `reason_en` / `reason_zh` ("no model:
-- too few cases ...") instead of a warning level when no model passed the guardrails.

create table if not exists ml.model_status (
    entity_type    text not null check (entity_type in ('institution', 'firm')),
    model_name     text not null,
    status         text not null check (status in ('scored', 'no_model')),
    model_version  text,                     -- the champion that scored, when status = 'scored'
    short_en       text not null,            -- e.g. 'no model: too few cases'
    reason_en      text not null,            -- the guardrail or training verdict in full
    reason_zh      text not null,
    updated_at     timestamptz not null default now(),
    primary key (entity_type, model_name)
);
comment on table ml.model_status is
    'Whether each early-warning panel has a model scoring it, and why not / 预警模型状态（无模型原因）';
