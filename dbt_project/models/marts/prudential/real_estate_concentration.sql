-- Real-estate loan concentration of each bank and quarter against the caps of its tier
-- (银发〔2020〕322号), with headroom, and its exposure to real-estate developers re-derived from the
-- loan detail (development loans, of which overdue).
with

indicators as (
    select * from {{ ref('prudential_indicators') }}
),

loan_book as (
    select * from {{ ref('int_prudential__loan_book_quarterly') }}
),

institutions as (
    select * from {{ ref('int_entities__institutions') }}
),

shares as (
    select
        institution_code,
        institution_type,
        bureau_code,
        size_tier,
        period,
        max(indicator_value) filter (where indicator_code = 'real_estate_loan_share') as real_estate_loan_share,
        max(threshold_value) filter (where indicator_code = 'real_estate_loan_share') as real_estate_cap,
        max(indicator_value) filter (where indicator_code = 'mortgage_share') as mortgage_share,
        max(threshold_value) filter (where indicator_code = 'mortgage_share') as mortgage_cap,
        max(rule_reference_zh) filter (where indicator_code = 'real_estate_loan_share') as rule_reference_zh,
        max(rule_reference_en) filter (where indicator_code = 'real_estate_loan_share') as rule_reference_en
    from indicators
    where indicator_code in ('real_estate_loan_share', 'mortgage_share')
    group by institution_code, institution_type, bureau_code, size_tier, period
),

final as (
    select
        shares.institution_code,
        institutions.institution_name,
        shares.institution_type,
        shares.bureau_code,
        shares.size_tier,
        shares.period,
        shares.real_estate_loan_share,
        shares.real_estate_cap,
        shares.real_estate_cap - shares.real_estate_loan_share as real_estate_headroom,
        coalesce(shares.real_estate_loan_share > shares.real_estate_cap, false) as real_estate_breach,
        shares.mortgage_share,
        shares.mortgage_cap,
        shares.mortgage_cap - shares.mortgage_share as mortgage_headroom,
        coalesce(shares.mortgage_share > shares.mortgage_cap, false) as mortgage_breach,
        loan_book.real_estate_development_loans as developer_loans_detail,
        loan_book.mortgage_loans as mortgage_loans_detail,
        loan_book.total_loans as total_loans_detail,
        shares.rule_reference_zh,
        shares.rule_reference_en
    from shares
    left join institutions on shares.institution_code = institutions.institution_code
    left join loan_book
        on
            shares.institution_code = loan_book.institution_code
            and shares.period = loan_book.period
)

select * from final
