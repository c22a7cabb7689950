{#- Row-level security on a serving mart, re-applied after every build (post-hook on the marts folders,
    see dbt_project.yml): members of bi_reader see only the rows of the bureaus they belong to
    (security.can_see_bureau, migration 020; HQ sees all). The owner (transformer) is not restricted,
    so downstream models still see every row. `column` holds a bureau code, or an array of them when
    `is_array` (a guarantee network spans the bureaus of its lenders). `unrestricted`: roles that read
    every row (with row-level security on, a role without a policy sees none), e.g. the scorer on the
    feature marts. -#}
{% macro apply_bureau_rls(column='bureau_code', is_array=false, unrestricted=[]) %}
    {%- if is_array -%}
        {%- set predicate = 'exists (select 1 from unnest(' ~ column ~ ') as c where security.can_see_bureau(c))' -%}
    {%- else -%}
        {%- set predicate = 'security.can_see_bureau(' ~ column ~ ')' -%}
    {%- endif -%}
    alter table {{ this }} enable row level security;
    drop policy if exists bureau_isolation on {{ this }};
    create policy bureau_isolation on {{ this }} for select to bi_reader using ({{ predicate }})
    {%- for role in unrestricted %};
    drop policy if exists {{ role }}_reads_all on {{ this }};
    create policy {{ role }}_reads_all on {{ this }} for select to {{ role }} using (true)
    {%- endfor %}
{% endmacro %}
