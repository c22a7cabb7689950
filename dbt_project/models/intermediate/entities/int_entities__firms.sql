-- Firms resolved by USCC: one row per firm known from the registry or from any institution's corporate
-- customer records, with name, region and industry (registry first, else the latest customer record),
-- and the bureau whose jurisdiction covers its province.
with

corporates as (
    select * from {{ ref('stg_submissions__corporate_customers') }}
),

registry as (
    select * from {{ ref('stg_external__registry') }}
),

bureau_regions as (
    select * from {{ ref('int_entities__bureau_regions') }}
),

latest_customer as (
    select distinct on (uscc)
        uscc,
        firm_name,
        region_code,
        industry_code,
        founded_date,
        registered_capital
    from corporates
    order by uscc asc, report_period desc, batch_id desc
),

customer_footprint as (
    select
        uscc,
        count(distinct institution_code) as customer_of_institutions
    from corporates
    group by uscc
),

firms as (
    select
        coalesce(registry.uscc, latest_customer.uscc) as firm_uscc,
        coalesce(registry.firm_name, latest_customer.firm_name) as firm_name,
        coalesce(registry.region_code, latest_customer.region_code) as region_code,
        coalesce(registry.industry_code, latest_customer.industry_code) as industry_code,
        coalesce(registry.founded_date, latest_customer.founded_date) as founded_date,
        coalesce(registry.registered_capital, latest_customer.registered_capital) as registered_capital,
        registry.registry_status,
        registry.uscc is not null as in_registry
    from registry
    full outer join latest_customer on registry.uscc = latest_customer.uscc
),

final as (
    select
        firms.*,
        coalesce(customer_footprint.customer_of_institutions, 0) as customer_of_institutions,
        coalesce(bureau_regions.bureau_code, '{{ var("national_bureau_code") }}') as bureau_code
    from firms
    left join customer_footprint on firms.firm_uscc = customer_footprint.uscc
    left join bureau_regions on left(firms.region_code, 2) = bureau_regions.province_code
)

select * from final
