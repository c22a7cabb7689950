-- run-as: loader
-- The submission log: every received submission and every batch (one data file), with a
-- timestamped, attributable lifecycle:
--   received -> verified -> loaded -> validated -> accepted | quarantined ; accepted -> superseded
-- plus `rejected` for files that fail verification or loading (nothing reaches raw), and
-- `duplicate` for a file whose sha256 was already accepted for that dataset (a no-op).

create table if not exists ops.submission (
    submission_id    text primary key,
    institution_code text not null,
    period           date not null,
    version          integer not null check (version >= 1),
    submitted_at     timestamptz,
    received_at      timestamptz not null default now(),
    manifest         jsonb not null,
    manifest_sha256  text not null,
    landing_path     text not null,
    unique (institution_code, period, version)
);

create table if not exists ops.batch (
    batch_id         bigint generated always as identity primary key,
    submission_id    text not null references ops.submission (submission_id),
    dataset          text not null,
    file_name        text not null,
    file_sha256      text not null,
    archive_path     text,
    declared_rows    bigint,
    loaded_rows      bigint,
    status           text not null check (status in ('received', 'verified', 'loaded', 'validated',
                                                     'accepted', 'quarantined', 'rejected', 'superseded',
                                                     'duplicate')),
    status_at        timestamptz not null default now(),
    dag_run_id       text,
    detail           jsonb not null default '{}'::jsonb,
    unique (submission_id, dataset)
);
create index if not exists batch_sha_idx on ops.batch (file_sha256);

-- A file (identified by its sha256) is accepted at most once for a given dataset.
create unique index if not exists batch_one_accepted_per_sha
    on ops.batch (dataset, file_sha256) where status in ('accepted', 'superseded');

create table if not exists ops.batch_event (
    event_id    bigint generated always as identity primary key,
    batch_id    bigint not null references ops.batch (batch_id),
    status      text not null,
    at          timestamptz not null default clock_timestamp(),
    dag_run_id  text,
    detail      jsonb not null default '{}'::jsonb
);
create index if not exists batch_event_batch_idx on ops.batch_event (batch_id);

-- One row per (batch, rule): what GX found.
create table if not exists ops.dq_result (
    batch_id          bigint not null references ops.batch (batch_id),
    rule_name         text not null,
    expectation_type  text not null,
    severity          text not null check (severity in ('critical', 'warning')),
    success           boolean not null,
    element_count     bigint,
    unexpected_count  bigint,
    examples          jsonb not null default '[]'::jsonb,
    validated_at      timestamptz not null default now(),
    primary key (batch_id, rule_name)
);

-- A manifest that cannot be parsed: archived and explained, nothing of the submission loaded.
create table if not exists ops.bad_manifest (
    manifest_sha256 text primary key,
    landing_path    text not null,
    archive_path    text not null,
    reason          text not null,
    dag_run_id      text,
    received_at     timestamptz not null default now()
);
