-- One portrait per firm (by USCC): identity, borrowing across all institutions and arrears anywhere,
-- guarantee circles/chains it belongs to, court enforcement, regulator cases, flow alerts on its
-- accounts, illegal-promotion adverts and negative news linked to it, and the latest model score.
with

firms as (
    select * from {{ ref('int_entities__firms') }}
),

exposure as (
    select * from {{ ref('int_networks__firm_exposure') }}
),

networks as (
    select * from {{ ref('guarantee_networks') }}
),

links as (
    select * from {{ ref('int_entities__firm_links') }}
),

court as (
    select * from {{ ref('stg_external__court_enforcements') }}
),

alerts as (
    select * from {{ ref('flow_alerts') }}
),

advert_flags as (
    select * from {{ ref('stg_external__advert_lead_flags') }}
),

news_links as (
    select * from {{ ref('stg_external__news_entity_links') }}
),

news_tones as (
    select * from {{ ref('stg_external__news_tones') }}
),

scores as (
    select * from {{ ref('stg_ml__latest_risk_scores') }}
),

accounts as (
    select * from {{ ref('int_entities__accounts_latest') }}
),

-- the account model's latest scores of the firm's accounts (entity_id = institution_code:account_no)
account_score_totals as (
    select
        accounts.holder_uscc as firm_uscc,
        max(scores.risk_probability) as max_account_risk_probability
    from scores
    inner join accounts
        on scores.entity_id = accounts.institution_code || ':' || accounts.account_no
    where scores.entity_type = 'account' and accounts.holder_uscc is not null
    group by accounts.holder_uscc
),

network_membership as (
    select
        member as firm_uscc,
        count(*) filter (where networks.network_type = 'circle') as guarantee_circles,
        count(*) filter (where networks.network_type = 'chain') as guarantee_chains
    from networks
    cross join unnest(networks.members) as member
    group by member
),

court_totals as (
    select
        links.firm_uscc,
        count(*) as enforcement_cases,
        sum(court.amount) as enforcement_amount,
        bool_or(court.list_type = '失信被执行人') as on_defaulter_list
    from links
    inner join court on links.record_key = court.case_no
    where links.source = 'court_enforcement' and links.firm_uscc is not null
    group by links.firm_uscc
),

case_totals as (
    select
        firm_uscc,
        count(*) as regulator_cases
    from links
    where source = 'regulator_case' and firm_uscc is not null
    group by firm_uscc
),

alert_totals as (
    select
        holder_uscc as firm_uscc,
        count(distinct account_no) as flow_alert_accounts,
        max(period) as last_flow_alert_period
    from alerts
    where holder_uscc is not null
    group by holder_uscc
),

advert_totals as (
    select
        linked_entity_id as firm_uscc,
        count(*) filter (where illegal_promo) as illegal_promo_adverts
    from advert_flags
    where linked_entity_type = 'firm'
    group by linked_entity_id
),

news_totals as (
    select
        news_links.entity_id as firm_uscc,
        count(distinct news_links.news_id) as news_mentions,
        count(distinct news_links.news_id) filter (where news_tones.tone = 'negative') as negative_news
    from news_links
    left join news_tones on news_links.news_id = news_tones.news_id
    where news_links.entity_type = 'firm' and not news_links.ambiguous
    group by news_links.entity_id
),

final as (
    select
        firms.firm_uscc,
        firms.firm_name,
        firms.region_code,
        firms.bureau_code,
        firms.industry_code,
        firms.founded_date,
        firms.registered_capital,
        firms.registry_status,
        firms.in_registry,
        firms.customer_of_institutions,
        coalesce(exposure.lender_count, 0) as lender_count,
        coalesce(exposure.total_balance, 0) as total_loan_balance,
        coalesce(exposure.overdue_balance, 0) as overdue_balance,
        coalesce(exposure.overdue_anywhere, false) as overdue_anywhere,
        exposure.max_overdue_days,
        coalesce(exposure.real_estate_development_balance, 0) as real_estate_development_balance,
        coalesce(network_membership.guarantee_circles, 0) as guarantee_circles,
        coalesce(network_membership.guarantee_chains, 0) as guarantee_chains,
        coalesce(court_totals.enforcement_cases, 0) as enforcement_cases,
        coalesce(court_totals.enforcement_amount, 0) as enforcement_amount,
        coalesce(court_totals.on_defaulter_list, false) as on_defaulter_list,
        coalesce(case_totals.regulator_cases, 0) as regulator_cases,
        coalesce(alert_totals.flow_alert_accounts, 0) as flow_alert_accounts,
        alert_totals.last_flow_alert_period,
        account_score_totals.max_account_risk_probability,
        coalesce(advert_totals.illegal_promo_adverts, 0) as illegal_promo_adverts,
        coalesce(news_totals.news_mentions, 0) as news_mentions,
        coalesce(news_totals.negative_news, 0) as negative_news,
        scores.score_period,
        scores.risk_probability,
        scores.risk_warning_level,
        scores.risk_reasons
    from firms
    left join exposure on firms.firm_uscc = exposure.firm_uscc
    left join network_membership on firms.firm_uscc = network_membership.firm_uscc
    left join court_totals on firms.firm_uscc = court_totals.firm_uscc
    left join case_totals on firms.firm_uscc = case_totals.firm_uscc
    left join alert_totals on firms.firm_uscc = alert_totals.firm_uscc
    left join account_score_totals on firms.firm_uscc = account_score_totals.firm_uscc
    left join advert_totals on firms.firm_uscc = advert_totals.firm_uscc
    left join news_totals on firms.firm_uscc = news_totals.firm_uscc
    left join scores
        on
            scores.entity_type = 'firm'
            and firms.firm_uscc = scores.entity_id
)

select * from final
