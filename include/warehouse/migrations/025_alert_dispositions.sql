-- run-as: loader
-- Supervisors' dispositions of warnings and flow alerts (issues #12 item 6 and #16 item 6).
--
-- One row per decision; the latest decision per (alert_kind, alert_id) is the current one
-- (ops.alert_disposition_current). Supervisors record a decision through the function
-- ops.record_disposition (EXECUTE granted to bi_reader, so every bureau login can call it); the
-- function stamps who decided (session_user) and when, and refuses an unknown disposition. The
-- account model reads confirmed flow alerts as labels; the rule catalogue counts dispositions per rule.

create table if not exists ops.alert_disposition (
    disposition_id  bigserial primary key,
    alert_kind      text not null check (alert_kind in ('warning', 'flow_alert')),
    alert_id        text not null,          -- warnings.warning_id or flow_alerts.alert_id
    rule_code       text,                   -- the rule or typology that raised it (catalogue code)
    entity_id       text,                   -- institution code, firm id or account token it concerns
    period          date,                   -- the period of the alert
    disposition     text not null check (disposition in ('confirmed', 'false_positive', 'under_review')),
    note            text check (length(note) <= 2000),
    decided_by      text not null default session_user,
    decided_at      timestamptz not null default now()
);
create index if not exists alert_disposition_alert on ops.alert_disposition (alert_kind, alert_id, decided_at desc);

create or replace view ops.alert_disposition_current as
select distinct on (alert_kind, alert_id) *
from ops.alert_disposition
order by alert_kind, alert_id, decided_at desc, disposition_id desc;

create or replace function ops.record_disposition(
    p_alert_kind text, p_alert_id text, p_disposition text, p_note text default null,
    p_rule_code text default null, p_entity_id text default null, p_period date default null
) returns bigint
language plpgsql security definer set search_path = pg_catalog, ops as $$
declare
    new_id bigint;
begin
    if p_alert_kind not in ('warning', 'flow_alert') then
        raise exception 'unknown alert kind %: use warning or flow_alert', p_alert_kind;
    end if;
    if p_disposition not in ('confirmed', 'false_positive', 'under_review') then
        raise exception 'unknown disposition %: use confirmed, false_positive or under_review', p_disposition;
    end if;
    insert into ops.alert_disposition (alert_kind, alert_id, rule_code, entity_id, period, disposition, note, decided_by)
    values (p_alert_kind, p_alert_id, p_rule_code, p_entity_id, p_period, p_disposition, p_note, session_user)
    returning disposition_id into new_id;
    return new_id;
end $$;
revoke all on function ops.record_disposition(text, text, text, text, text, text, date) from public;
grant execute on function ops.record_disposition(text, text, text, text, text, text, date) to bi_reader, transformer;
grant select on ops.alert_disposition, ops.alert_disposition_current to transformer, scorer, auditor;
