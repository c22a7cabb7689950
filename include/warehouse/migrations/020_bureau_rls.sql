-- Row-level security by supervising bureau for the serving marts (issue #6, item 7).
--
-- * One group role per bureau, `bureau_<code>` (lower case), NOLOGIN, member of bi_reader (so it reads
--   the marts, and nothing else). HQ's role `bureau_hq` sees every bureau's rows.
-- * One login role per bureau, `sup_<code>`, member of its bureau role. It has NO password here (no
--   secret in the repo): an administrator sets one (`alter role sup_zj password '...'`) or maps it to
--   the organisation's authentication (pg_hba, LDAP). A person's own login role is granted the
--   bureau role the same way: `grant bureau_zj to alice`.
-- * security.can_see_bureau(code) is what every mart's policy calls; dbt re-creates the policies
--   after every build (macro apply_bureau_rls, a post-hook on the marts folders).
-- A new bureau: add it to the seed dbt_project/seeds/bureaus.csv and a new migration calling
-- security.ensure_bureau_roles('<code>').

create schema if not exists security;
revoke all on schema security from public;
grant usage on schema security to bi_reader, transformer;

create or replace function security.ensure_bureau_roles(code text) returns void
language plpgsql as $$
declare
    grp text := 'bureau_' || lower(code);
    usr text := 'sup_' || lower(code);
begin
    if not exists (select 1 from pg_roles where rolname = grp) then
        execute format('create role %I nologin', grp);
    end if;
    execute format('grant bi_reader to %I', grp);
    if not exists (select 1 from pg_roles where rolname = usr) then
        execute format('create role %I login nosuperuser nocreatedb nocreaterole noreplication nobypassrls', usr);
    end if;
    execute format('grant %I to %I', grp, usr);
end $$;
revoke all on function security.ensure_bureau_roles(text) from public;

-- True when the current user belongs to the bureau `code`, or to HQ (national supervision).
create or replace function security.can_see_bureau(code text) returns boolean
language sql stable as $$
    select exists (
        select 1 from pg_roles r
        where r.rolname in ('bureau_hq', 'bureau_' || lower(code))
          and pg_has_role(current_user, r.oid, 'member')
    )
$$;
revoke all on function security.can_see_bureau(text) from public;
grant execute on function security.can_see_bureau(text) to bi_reader, transformer;

select security.ensure_bureau_roles(code)
from unnest(array['HQ', 'BJ', 'TJ', 'HE', 'SH', 'JS', 'ZJ', 'FJ', 'SD', 'HA', 'HB', 'GD', 'SC']) as code;
