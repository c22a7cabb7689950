{#- Latest-record helpers shared by the entity and network models (one definition each).

    latest_per_customer: each (institution, customer)'s latest reported record, with the given columns.
    Customer files are submitted as deltas, so "latest" is per customer, not per file.

    latest_snapshot: the rows of each institution's latest reported period of a snapshot dataset
    (loans, guarantees: every period carries the whole book, so the latest period is the current one). -#}
{% macro latest_per_customer(relation, columns) %}
    select distinct on (institution_code, customer_id)
        institution_code,
        customer_id,
        {{ columns | join(',\n        ') }}
    from {{ relation }}
    order by institution_code asc, customer_id asc, report_period desc, batch_id desc
{% endmacro %}

{% macro latest_snapshot(relation) %}
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
{% endmacro %}
