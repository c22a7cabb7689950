-- Every mention of a firm in submissions and external feeds: source, record key, USCC if the record
-- carries one, name and region. Input of firm resolution (int_entities__firm_links).
with

corporates as (
    select * from {{ ref('stg_submissions__corporate_customers') }}
),

loans as (
    select * from {{ ref('stg_submissions__loans') }}
),

guarantees as (
    select * from {{ ref('stg_submissions__guarantees') }}
),

cases as (
    select * from {{ ref('stg_submissions__regulator_cases') }}
),

registry as (
    select * from {{ ref('stg_external__registry') }}
),

court as (
    select * from {{ ref('stg_external__court_enforcements') }}
),

adverts as (
    select * from {{ ref('stg_external__advert_leads') }}
),

latest_corporates as (
    {{ latest_per_customer('corporates', ['uscc', 'firm_name', 'region_code']) }}
),

mentions as (
    select
        'corporate_customer' as source,
        institution_code || ':' || customer_id as record_key,
        uscc,
        firm_name as name,
        region_code
    from latest_corporates
    union all
    select distinct
        'loan_borrower',
        institution_code || ':' || loan_id,
        borrower_uscc,
        null::text,
        null::text
    from loans
    where borrower_uscc is not null
    union all
    select distinct
        'guarantor',
        institution_code || ':' || guarantee_id,
        guarantor_uscc,
        guarantor_name,
        null::text
    from guarantees
    where guarantor_type = '企业'
    union all
    select
        'regulator_case',
        case_id,
        uscc,
        entity_name,
        null::text
    from cases
    where entity_type = '企业'
    union all
    select
        'registry',
        uscc as record_key,
        uscc,
        firm_name,
        region_code
    from registry
    union all
    select
        'court_enforcement',
        case_no,
        party_id,
        party_name,
        null::text
    from court
    where party_type = '企业'
    union all
    select
        'advert_lead',
        lead_id,
        null::text,
        advertiser,
        null::text
    from adverts
),

final as (
    select
        source,
        record_key,
        nullif(uscc, '') as uscc,
        name,
        region_code,
        {{ normalise_firm_name('name') }} as name_key
    from mentions
)

select * from final
