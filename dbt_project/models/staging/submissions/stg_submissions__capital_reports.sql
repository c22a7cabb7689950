-- Capital adequacy reports: the latest accepted version of each (institution, quarter).
-- Earlier versions stay in raw with status `superseded` in ops.batch.
with

source as (
    select * from {{ source('submissions', 'capital_report') }}
),

accepted as (
    select batch_id from {{ source('ops', 'batch') }}
    where status = 'accepted'
),

renamed as (
    select
        source.institution_code,
        source.report_period,
        source.cet1_capital,
        source.tier1_capital,
        source.total_capital,
        source.credit_rwa,
        source.market_rwa,
        source.operational_rwa,
        source.total_rwa,
        source._batch_id as batch_id,
        source._line as source_line
    from source
    inner join accepted on source._batch_id = accepted.batch_id
)

select * from renamed
