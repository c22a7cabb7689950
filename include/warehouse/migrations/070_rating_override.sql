-- run-as: loader
-- Supervisory rating overrides (issue #16 item 1): the grade a supervisor decides for an institution and
-- year when it differs from the worksheet's proposal (marts_supervision.rating_worksheet), with who and why.
--
-- One row per decision; the latest per (institution, year) is the current one (ops.rating_override_current).
-- Supervisors record a decision through ops.record_rating_override (EXECUTE granted to bi_reader, so every
-- bureau login can call it); the function stamps who decided (session_user) and when, requires a reason
-- and refuses a grade outside 1-6/S or an unknown sub-grade.

create table if not exists ops.rating_override (
    override_id       bigserial primary key,
    institution_code  text not null,
    rating_year       integer not null check (rating_year between 2000 and 2100),
    grade             text not null check (grade in ('1', '2', '3', '4', '5', '6', 'S')),
    sub_grade         text check (sub_grade ~ '^([1-6][A-C]?|S)$'),
    reason            text not null check (length(btrim(reason)) between 5 and 2000),
    decided_by        text not null default session_user,
    decided_at        timestamptz not null default now()
);
create index if not exists rating_override_key on ops.rating_override (institution_code, rating_year, decided_at desc);

create or replace view ops.rating_override_current as
select distinct on (institution_code, rating_year) *
from ops.rating_override
order by institution_code, rating_year, decided_at desc, override_id desc;

create or replace function ops.record_rating_override(
    p_institution_code text, p_rating_year integer, p_grade text, p_reason text, p_sub_grade text default null
) returns bigint
language plpgsql security definer set search_path = pg_catalog, ops as $$
declare
    new_id bigint;
begin
    if p_grade is null or p_grade not in ('1', '2', '3', '4', '5', '6', 'S') then
        raise exception 'unknown grade %: use 1-6 or S', p_grade;
    end if;
    if p_sub_grade is not null and left(p_sub_grade, 1) <> p_grade then
        raise exception 'sub-grade % does not belong to grade %', p_sub_grade, p_grade;
    end if;
    if p_reason is null or length(btrim(p_reason)) < 5 then
        raise exception 'an override needs a reason (at least 5 characters)';
    end if;
    insert into ops.rating_override (institution_code, rating_year, grade, sub_grade, reason, decided_by)
    values (p_institution_code, p_rating_year, p_grade, p_sub_grade, p_reason, session_user)
    returning override_id into new_id;
    return new_id;
end $$;
revoke all on function ops.record_rating_override(text, integer, text, text, text) from public;
grant execute on function ops.record_rating_override(text, integer, text, text, text) to bi_reader, transformer;
grant select on ops.rating_override, ops.rating_override_current to transformer, auditor;
-- Supervisors (bi_reader's members) reach this function and ops.record_disposition (migration 025) only
-- through schema USAGE: it lets them name objects in ops, not read any table (no SELECT is granted).
grant usage on schema ops to bi_reader;
