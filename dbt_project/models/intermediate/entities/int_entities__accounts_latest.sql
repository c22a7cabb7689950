-- Every account's latest reported record, per (institution, account number): account numbers are
-- only unique within their institution (accounts are submitted as deltas), with its holder: for
-- individuals, birth date and sex from the customer record (ages are computed from birth_date, so this
-- works whether or not identifiers are pseudonymised). The customer type is a join key on both sides
-- (a constant column of each customer CTE), not a filter on the account side only: with the filter,
-- PostgreSQL merged on institution_code alone and compared every account with every customer of its
-- institution (medium: 43 s; as a hash key: 2.5 s, same rows).
with

accounts as (
    select * from {{ ref('stg_submissions__accounts') }}
),

individuals as (
    select * from {{ ref('stg_submissions__individual_customers') }}
),

corporates as (
    select * from {{ ref('stg_submissions__corporate_customers') }}
),

latest_account as (
    select distinct on (institution_code, account_no)
        account_no,
        institution_code,
        customer_id,
        customer_type,
        account_type,
        open_date,
        status,
        report_period
    from accounts
    order by institution_code asc, account_no asc, report_period desc, batch_id desc
),

latest_individual as (
    {{ latest_per_customer(
        'individuals', ['resident_id', 'birth_date', 'sex', 'region_code', "'个人' as customer_type"]
    ) }}
),

latest_corporate as (
    {{ latest_per_customer('corporates', ['uscc', 'firm_name', 'region_code', "'对公' as customer_type"]) }}
),

final as (
    select
        latest_account.account_no,
        latest_account.institution_code,
        latest_account.customer_id,
        latest_account.customer_type,
        latest_account.account_type,
        latest_account.open_date,
        latest_account.status,
        latest_account.report_period as last_reported_period,
        latest_individual.resident_id as holder_resident_id,
        latest_individual.birth_date as holder_birth_date,
        latest_corporate.uscc as holder_uscc,
        latest_corporate.firm_name as holder_firm_name,
        coalesce(latest_individual.region_code, latest_corporate.region_code) as holder_region_code
    from latest_account
    left join latest_individual
        on
            latest_account.institution_code = latest_individual.institution_code
            and latest_account.customer_id = latest_individual.customer_id
            and latest_account.customer_type = latest_individual.customer_type
    left join latest_corporate
        on
            latest_account.institution_code = latest_corporate.institution_code
            and latest_account.customer_id = latest_corporate.customer_id
            and latest_account.customer_type = latest_corporate.customer_type
)

select * from final
