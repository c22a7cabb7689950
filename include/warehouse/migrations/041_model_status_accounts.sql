-- run-as: scorer
-- The account model (#12) records its status too (ml.model_status, migration 040): accounts are an
-- entity type of their own, as in ml.risk_scores (migration 026).

alter table ml.model_status drop constraint if exists model_status_entity_type_check;
alter table ml.model_status add constraint model_status_entity_type_check
    check (entity_type in ('institution', 'firm', 'account'));
