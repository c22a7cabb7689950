-- run-as: loader
-- ops.input_is_valid(value, type): is `value` a valid input for the SQL type `type` (e.g. 'date',
-- 'numeric(18,2)')? The quality gate's type checks (include/ingest/typed.py) call it once per value
-- and non-text column. NULL in, NULL out (STRICT), as pg_input_is_valid.
--
-- PostgreSQL 16+: pg_input_is_valid itself, as a one-line SQL function the planner inlines (same cost).
-- PostgreSQL 14 and 15 lack pg_input_is_valid: the fallback tries the cast in a plpgsql exception block
-- (a subtransaction per call: correct, several times slower on large files). The type name is checked
-- against a strict pattern before it is interpolated. See README "External PostgreSQL".
do $$
begin
    if current_setting('server_version_num')::int >= 160000 then
        execute $f$
            create or replace function ops.input_is_valid(value text, type_name text) returns boolean
            language sql stable strict parallel safe
            return pg_input_is_valid(value, type_name)
        $f$;
    else
        execute $f$
            create or replace function ops.input_is_valid(value text, type_name text) returns boolean
            language plpgsql stable strict parallel safe as $body$
            begin
                if type_name !~ '^[a-z][a-z0-9_ ]*(\([0-9, ]+\))?(\[\])?$' then
                    raise exception 'ops.input_is_valid: not a type name: %', type_name;
                end if;
                execute format('select %L::%s', value, type_name);
                return true;
            exception
                when data_exception then
                    return false;
            end
            $body$
        $f$;
    end if;
end
$$;

comment on function ops.input_is_valid(text, text) is
    'True if the text is a valid input of the named SQL type (pg_input_is_valid on PostgreSQL 16+, a '
    'cast in an exception block on 14 and 15); NULL for NULL.';
grant execute on function ops.input_is_valid(text, text) to public;
