-- run-as: loader
-- Data-quality summary per institution and reporting period (issue #4 item 8), the source of the
-- dbt DQ scorecard mart. One row per (institution_code, period), rebuilt by the loader after every
-- ingest run that touched the pair (include/ingest/feedback.py: refresh_dq_summary), so it always
-- reflects ops.submission / ops.batch / ops.dq_result. Readable by transformer and auditor through
-- the default privileges of migration 001.
--
-- Due dates (include/registry/datasets.py: DUE_DAYS): a submission is due DUE_DAYS days after its period end
-- (30 for monthly and for quarterly datasets: the regulator's reporting calendar for the detail and
-- the 1104-style reports), by the end of that day in China Standard Time (Asia/Shanghai). Whether a
-- period was on time is judged on the first version received (a correction later is not "late").

create table if not exists ops.dq_summary (
    institution_code      text not null,         -- submitting institution (REG0000 = the regulator's own system)
    period                date not null,         -- reporting period end date (month or quarter end)
    due_at                timestamptz not null,  -- deadline: period + 30 days, 23:59:59.999 Asia/Shanghai
    first_submitted_at    timestamptz,           -- manifest submitted_at of the earliest version
    last_submitted_at     timestamptz,           -- manifest submitted_at of the latest version
    on_time               boolean,               -- first_submitted_at <= due_at (null: no submitted_at)
    days_late             integer not null default 0,  -- whole days after the due date (0 when on time)
    versions              integer not null,      -- submissions (versions) received for the period
    versions_needed       integer not null,      -- versions up to the first whose every batch was accepted
                                                 -- (= versions when none is fully accepted yet)
    latest_version        integer not null,
    files                 integer not null,      -- data files (batches) over all versions
    files_accepted        integer not null,      -- accepted or later superseded by a newer version
    files_quarantined     integer not null,      -- a critical rule failed: kept in quarantine.*
    files_rejected        integer not null,      -- refused at verification/COPY (sha256, header, format, ...)
    files_duplicate       integer not null,      -- an identical file was already accepted: no-op
    critical_failures     integer not null,      -- failed (batch, rule) results of severity critical, all versions
    warning_failures      integer not null,      -- failed (batch, rule) results of severity warning, all versions
    rules_failed          jsonb not null default '{}'::jsonb,  -- {"critical": [rule names], "warning": [...]}
    accepted_rows         bigint not null,       -- rows in raw from the latest accepted version of each dataset
    accepted              boolean not null,      -- every file of the latest version accepted (or a duplicate of
                                                 -- an accepted file) and nothing pending
    updated_at            timestamptz not null default now(),
    primary key (institution_code, period)
);

comment on table ops.dq_summary is 'Data-quality summary per institution and period (one row each), rebuilt by the loader after each ingest run; source of the DQ scorecard mart.';
comment on column ops.dq_summary.due_at is 'Deadline: period end + 30 days, end of day Asia/Shanghai.';
comment on column ops.dq_summary.on_time is 'First version submitted by due_at (null when the manifest has no submitted_at).';
comment on column ops.dq_summary.versions_needed is 'Versions up to the first fully accepted one (= versions if none yet).';
comment on column ops.dq_summary.critical_failures is 'Failed (batch, rule) results of severity critical over all versions.';
comment on column ops.dq_summary.warning_failures is 'Failed (batch, rule) results of severity warning over all versions.';
comment on column ops.dq_summary.accepted is 'Every file of the latest version accepted (or duplicate of an accepted file), nothing pending.';
