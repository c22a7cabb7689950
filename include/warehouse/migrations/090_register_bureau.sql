-- run-as: loader
-- ops.institution_register.bureau_code: the bureau that supervises an admitted institution which has no
-- institution record of its own (an investigator's transfer export brought in by `supervision import
-- transactions`, a newly licensed institution before its first record). `supervision institutions admit
-- CODE --bureau ZJ` sets it; the institution's own record, once accepted, wins. Without it such an
-- institution is visible to HQ only and its flow alerts share the queue of institutions with no bureau.
alter table ops.institution_register add column if not exists bureau_code text
    check (bureau_code ~ '^[A-Z]{2,8}$');
