-- 监管案件表 / Cases opened by the regulator in the month against institutions or firms (illegal fundraising, enforcement,
-- administrative penalty), with their source.
-- Latest accepted version only (macro latest_accepted); typed and renamed, nothing else.
with

source as (
    {{ latest_accepted('regulator_case') }}
),

renamed as (
    select
        report_period,
        case_id,
        entity_type,
        institution_code,
        uscc,
        entity_name,
        case_type,
        opened_date,
        source,
        amount,
        _batch_id as batch_id,
        _line as source_line
    from source
)

select * from renamed
