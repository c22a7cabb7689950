-- run-as: loader
-- Hostile input (issue #14).
--
-- ops.institution_register: institutions the regulator has admitted to report. A submission is
-- loaded only for a known institution: one in this register, one that has delivered its own
-- institution master record before (accepted, superseded or quarantined), one whose submission
-- carries that record (it introduces itself; the feedback and the batch event say so), or the
-- regulator's own pseudo-institution. Anything else is rejected (rule: institution_known). The
-- regulator admits an institution before its first submission with
-- `python -m include.ingest.admission admit <code> --note '...'`.
create table if not exists ops.institution_register (
    institution_code text primary key check (institution_code ~ '^[A-Z0-9]{2,16}$'),
    admitted_at      timestamptz not null default now(),
    admitted_by      text not null default current_user,
    note             text
);

-- A revert (v1 = A, v2 = A', v3 = A) makes v3 the current version: the same file may now be
-- accepted again once its earlier acceptance was superseded. Still at most one *current* acceptance.
drop index if exists ops.batch_one_accepted_per_sha;
create unique index if not exists batch_one_current_per_sha
    on ops.batch (dataset, file_sha256) where status = 'accepted';
