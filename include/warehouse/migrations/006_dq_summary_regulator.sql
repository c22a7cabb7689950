-- run-as: loader
-- ops.dq_summary (migration 005): the regulator's own submissions (REG0000: ratings, interventions,
-- cases) have no deadline, so their on_time is null (include/ingest/feedback.py).
comment on column ops.dq_summary.on_time is 'First version submitted by due_at (null when the manifest has no submitted_at, and for the regulator''s own submissions, REG0000, which have no deadline).';
