-- 偿付能力报表 / Quarterly insurer solvency (C-ROSS): actual capital, core capital and minimum capital; comprehensive ratio
-- = actual / minimum (>= 100%), core ratio = core / minimum (>= 50%).
-- Latest accepted version only (macro latest_accepted); typed and renamed, nothing else.
with

source as (
    {{ latest_accepted('solvency') }}
),

renamed as (
    select
        institution_code,
        report_period,
        actual_capital,
        core_capital,
        minimum_capital,
        _batch_id as batch_id,
        _line as source_line
    from source
)

select * from renamed
