-- Institution master records as each institution reports them, latest accepted version per period.
with

source as (
    select * from {{ source('submissions', 'institution') }}
),

accepted as (
    select batch_id from {{ source('ops', 'batch') }}
    where status = 'accepted'
),

renamed as (
    select
        source.institution_code,
        source.report_period,
        source.licence_no,
        source.uscc,
        source.name as institution_name,
        source.institution_type,
        source.bureau_code,
        source.region_code,
        source.size_tier,
        source.established_date,
        source._batch_id as batch_id,
        source._line as source_line
    from source
    inner join accepted on source._batch_id = accepted.batch_id
)

select * from renamed
