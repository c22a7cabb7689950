-- 机构基本信息表 / Institution master record, submitted by each institution about itself every month.
-- Latest accepted version only (macro latest_accepted); typed and renamed, nothing else.
with

source as (
    {{ latest_accepted('institution') }}
),

renamed as (
    select
        institution_code,
        report_period,
        licence_no,
        uscc,
        name as institution_name,
        institution_type,
        bureau_code,
        region_code,
        size_tier,
        established_date,
        _batch_id as batch_id,
        _line as source_line
    from source
)

select * from renamed
