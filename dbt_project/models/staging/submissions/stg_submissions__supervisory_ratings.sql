-- 监管评级表 / Supervisory rating of every institution for the quarter (1 best .
-- Latest accepted version only (macro latest_accepted); typed and renamed, nothing else.
with

source as (
    {{ latest_accepted('supervisory_rating') }}
),

renamed as (
    select
        institution_code,
        report_period,
        rating,
        rated_at,
        _batch_id as batch_id,
        _line as source_line
    from source
)

select * from renamed
