-- Administrative penalties (external feed) by decision year, issuing bureau and institution type:
-- decisions, amounts, institutions and individuals penalised.
with

penalties as (
    select * from {{ ref('stg_external__penalties') }}
),

institutions as (
    select * from {{ ref('int_entities__institutions') }}
),

joined as (
    select
        penalties.*,
        institutions.institution_type,
        coalesce(penalties.bureau_code, institutions.bureau_code) as effective_bureau_code
    from penalties
    left join institutions on penalties.institution_code = institutions.institution_code
),

final as (
    select
        extract(year from decision_date)::integer as decision_year,
        effective_bureau_code as bureau_code,
        coalesce(institution_type, 'unknown') as institution_type,
        count(*) as decisions,
        count(*) filter (where party_type = '机构') as institution_decisions,
        count(*) filter (where party_type = '个人') as individual_decisions,
        count(distinct institution_code) as institutions_penalised,
        count(distinct party_name) filter (where party_type = '个人') as individuals_penalised,
        coalesce(sum(amount_cny), 0) as total_amount,
        coalesce(sum(amount_cny) filter (where party_type = '机构'), 0) as institution_amount,
        coalesce(sum(amount_cny) filter (where party_type = '个人'), 0) as individual_amount,
        max(amount_cny) as largest_amount
    from joined
    group by 1, 2, 3
)

select * from final
