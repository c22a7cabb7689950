-- Which bureau supervises a province (first two digits of a GB/T 2260 region code), from the seed
-- `bureaus`. Firms are in the jurisdiction of their province's bureau; HQ sees every province.
with

bureaus as (
    select * from {{ ref('bureaus') }}
),

final as (
    select
        province_code,
        bureau_code
    from bureaus
    where province_code is not null
)

select * from final
