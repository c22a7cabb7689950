{#- Latest-record helpers shared by the entity and network models (one definition each).

    latest_per_customer: each (institution, customer)'s latest reported record, with the given columns.
    Customer files are submitted as deltas, so "latest" is per customer, not per file.

    latest_snapshot: the rows of each institution's latest reported period of a snapshot dataset
    (loans, guarantees: every period carries the whole book, so the latest period is the current one).
    With `pairs`, those (institution, period) pairs as read from the ledger at compile time
    (latest_snapshot_pairs(dataset); none at parse time and in unit tests: the rows decide): a literal list, so only those periods' partitions of the raw table are read, where
    finding each institution's latest period in the rows read every period of the history twice (hist15,
    bench/README.md: int_networks__firm_exposure 2.1 s with four times the history). The same rows: a snapshot
    row's period is its batch's (the period rule), staging keeps the accepted batches' rows, and a batch that
    loaded no row is not a latest period with rows. -#}
{% macro latest_per_customer(relation, columns) %}
    select distinct on (institution_code, customer_id)
        institution_code,
        customer_id,
        {{ columns | join(',\n        ') }}
    from {{ relation }}
    order by institution_code asc, customer_id asc, report_period desc, batch_id desc
{% endmacro %}

{% macro latest_snapshot_pairs(dataset) %}
    {#- at parse time, and in a unit test whose ledger is a fixture (a CTE name), the rows decide -#}
    {%- if not execute or (source('ops', 'batch') | string).startswith('__dbt__cte__') -%}{{ return(none) }}{%- endif -%}
    {%- set query -%}
        select submissions.institution_code, max(submissions.period)::text
        {{ accepted_batches_of(dataset) }}
            and batches.loaded_rows > 0
        group by submissions.institution_code
        order by 1
    {%- endset -%}
    {{ return(run_query(query).rows | map('list') | list) }}
{% endmacro %}

{% macro latest_snapshot(relation, pairs=none) %}
    {%- if pairs is not none %}
    select snapshot_rows.*
    from {{ relation }} as snapshot_rows
    where {{ new_batch_period_filter(pairs) }}
    {%- else %}
    select snapshot_rows.*
    from {{ relation }} as snapshot_rows
    inner join (
        select
            institution_code,
            max(report_period) as report_period
        from {{ relation }}
        group by institution_code
    ) as latest_period
        on
            snapshot_rows.institution_code = latest_period.institution_code
            and snapshot_rows.report_period = latest_period.report_period
    {%- endif %}
{% endmacro %}
