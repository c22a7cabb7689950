-- Schemas and least-privilege grants. Runs as the administrator; roles exist already (bootstrap.py
-- creates them with their passwords). Idempotent.
--
--  loader      owns ops, landing, raw, raw_ext, quarantine (writes submissions; the only role that
--              ever sees personal identifiers before they are pseudonymised)
--  transformer owns staging, intermediate, marts* (dbt); reads raw, raw_ext, ops, ml
--  scorer      owns ml; reads the feature marts (granted by dbt's `grants` config)
--  bi_reader   reads marts only (granted by dbt on every build, row-level security by bureau)
--  auditor     reads ops (submission log, batch status, load audit, DQ results)

create schema if not exists ops authorization loader;
create schema if not exists landing authorization loader;
create schema if not exists raw authorization loader;
create schema if not exists raw_ext authorization loader;
create schema if not exists quarantine authorization loader;
create schema if not exists ml authorization scorer;
create schema if not exists staging authorization transformer;
create schema if not exists intermediate authorization transformer;
create schema if not exists marts authorization transformer;
create schema if not exists snapshots authorization transformer;

-- Nobody writes to public; nobody but the owners creates anything.
revoke create on schema public from public;
do $$
begin
  execute format('revoke create, temporary on database %I from public', current_database());
  execute format('grant connect on database %I to loader, transformer, scorer, bi_reader, auditor',
                 current_database());
  -- dbt creates one schema per mart domain (marts_prudential, ...), owned by transformer.
  execute format('grant create, temporary on database %I to transformer', current_database());
end $$;

grant usage on schema raw, raw_ext, ops, ml to transformer;
alter default privileges for role loader in schema raw grant select on tables to transformer;
alter default privileges for role loader in schema raw_ext grant select on tables to transformer;
alter default privileges for role loader in schema ops grant select on tables to transformer;
alter default privileges for role scorer in schema ml grant select on tables to transformer;

grant usage on schema ops to auditor;
alter default privileges for role loader in schema ops grant select on tables to auditor;
