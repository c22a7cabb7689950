-- run-as: scorer
-- The account model (#12): ml.risk_scores also holds account scores (entity_id = institution_code:account
-- token, as marts_features.account_month_training.account_key). Idempotent: the check is replaced by name.

alter table ml.risk_scores drop constraint if exists risk_scores_entity_type_check;
alter table ml.risk_scores add constraint risk_scores_entity_type_check
    check (entity_type in ('institution', 'firm', 'account'));
