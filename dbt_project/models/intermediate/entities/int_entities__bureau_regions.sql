-- Which bureau supervises a province (first two digits of a GB/T 2260 region code): the bureau of the
-- locally supervised institutions registered there. Firms are in the jurisdiction of their province's
-- bureau; a province with no local institution has none (only HQ sees its firms).
with

institutions as (
    select * from {{ ref('int_entities__institutions') }}
),

final as (
    select
        left(region_code, 2) as province_code,
        min(bureau_code) as bureau_code
    from institutions
    where bureau_code <> '{{ var("national_bureau_code") }}'
    group by left(region_code, 2)
    having count(distinct bureau_code) = 1
)

select * from final
