{#- The rows of one submitted dataset that belong to its latest accepted version.

    The loader keeps every version in raw (append-only) and records each batch's lifecycle in
    ops.batch: when a later version of an (institution, period, dataset) is accepted, the earlier
    batch becomes `superseded`, so exactly one batch per (institution, period, dataset) is
    `accepted`. Staging therefore keeps the rows of accepted batches; quarantined, rejected,
    duplicate and superseded batches never reach the warehouse. One macro for every staging model. -#}
{% macro latest_accepted(dataset) %}
    select raw_rows.*
    from {{ source('submissions', dataset) }} as raw_rows
    where exists (
        select 1
        from {{ source('ops', 'batch') }} as batches
        where batches.batch_id = raw_rows._batch_id
            and batches.dataset = '{{ dataset }}'
            and batches.status = 'accepted'
    )
{% endmacro %}
