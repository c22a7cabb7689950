-- run-as: loader
-- Notifications (issue #16 item 4): every digest e-mailed to a bureau and every case package exported to
-- another agency, one row per (channel, recipient, subject). The unique key is what makes a warning, flow
-- alert or lead go to the same recipient at most once: a re-run finds the row and skips it. A failed
-- send keeps status 'failed' (with its error) and is retried on the next run.
--
-- Written by the notify job, which runs as transformer (it reads the marts it reports on).

create table if not exists ops.notifications (
    notification_id  bigserial primary key,
    channel          text not null check (channel in ('email_digest', 'agency_export')),
    recipient        text not null,            -- e-mail address, or agency code
    bureau_code      text,
    subject_kind     text not null check (subject_kind in ('warning', 'flow_alert', 'lead')),
    subject_id       text not null,            -- warnings.warning_id, flow_alerts.alert_id, lead id
    status           text not null check (status in ('prepared', 'sent', 'failed')),
    path             text,                     -- the exported package (agency exports)
    error            text,
    created_by       text not null default session_user,
    created_at       timestamptz not null default now(),
    sent_at          timestamptz,
    unique (channel, recipient, subject_kind, subject_id)
);
create index if not exists notifications_subject on ops.notifications (subject_kind, subject_id);

grant select, insert, update on ops.notifications to transformer;
grant usage on sequence ops.notifications_notification_id_seq to transformer;
grant select on ops.notifications to auditor;
