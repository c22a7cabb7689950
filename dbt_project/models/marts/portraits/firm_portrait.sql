-- One portrait per firm (by USCC): identity, borrowing across all institutions and arrears anywhere,
-- guarantee circles/chains it belongs to, court enforcement, regulator cases, flow alerts on its
-- accounts, illegal-promotion adverts and negative news linked to it, and the latest model score.
-- Court cases, adverts and news are the firm's external events of int_firms__external_events (the
-- records the firm feature mart counts in its windows), totalled over all time; adverts are those the
-- external-feed linker tied to the firm (candidate leads included, `linker_link`). A real-estate
-- developer also carries its latest disclosed quarter's three red lines (developer_red_lines).
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

alerts as (
    select * from {{ ref('flow_alerts') }}
),

events as (
    select * from {{ ref('int_firms__external_events') }}
),

scores as (
    select * from {{ ref('stg_ml__latest_risk_scores') }}
),

model_status as (
    select * from {{ ref('stg_ml__model_status') }}
),

accounts as (
    select * from {{ ref('int_entities__accounts_latest') }}
),

latest_red_lines as (
    select distinct on (developer_uscc) *
    from {{ ref('developer_red_lines') }}
    order by developer_uscc asc, report_period desc
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

event_totals as (
    select
        firm_uscc,
        count(*) filter (where event_type = 'court_enforcement') as enforcement_cases,
        sum(amount) filter (where event_type = 'court_enforcement') as enforcement_amount,
        bool_or(list_type = '失信被执行人') filter (where event_type = 'court_enforcement') as on_defaulter_list,
        count(*) filter (where event_type = 'advert_lead' and linker_link and illegal_promo) as illegal_promo_adverts,
        count(distinct event_id) filter (where event_type = 'news') as news_mentions,
        count(distinct event_id) filter (where event_type = 'news' and is_negative) as negative_news
    from events
    group by firm_uscc
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
        coalesce(event_totals.enforcement_cases, 0) as enforcement_cases,
        coalesce(event_totals.enforcement_amount, 0) as enforcement_amount,
        coalesce(event_totals.on_defaulter_list, false) as on_defaulter_list,
        coalesce(case_totals.regulator_cases, 0) as regulator_cases,
        coalesce(alert_totals.flow_alert_accounts, 0) as flow_alert_accounts,
        alert_totals.last_flow_alert_period,
        coalesce(event_totals.illegal_promo_adverts, 0) as illegal_promo_adverts,
        coalesce(event_totals.news_mentions, 0) as news_mentions,
        coalesce(event_totals.negative_news, 0) as negative_news,
        latest_red_lines.report_period as red_line_period,
        latest_red_lines.colour as red_line_colour,
        latest_red_lines.lines_breached as red_lines_breached,
        latest_red_lines.liability_ratio_ex_adv as red_line_liability_ratio,
        latest_red_lines.net_gearing as red_line_net_gearing,
        latest_red_lines.cash_to_short_debt as red_line_cash_to_short_debt,
        latest_red_lines.colour_trend as red_line_trend,
        account_score_totals.max_account_risk_probability,
        scores.score_period,
        scores.risk_probability,
        scores.risk_warning_level,
        scores.risk_reasons,
        model_status.risk_model_status,
        model_status.risk_model_short_en,
        model_status.risk_model_note_en,
        model_status.risk_model_note_zh
    from firms
    left join exposure on firms.firm_uscc = exposure.firm_uscc
    left join network_membership on firms.firm_uscc = network_membership.firm_uscc
    left join event_totals on firms.firm_uscc = event_totals.firm_uscc
    left join case_totals on firms.firm_uscc = case_totals.firm_uscc
    left join alert_totals on firms.firm_uscc = alert_totals.firm_uscc
    left join account_score_totals on firms.firm_uscc = account_score_totals.firm_uscc
    left join latest_red_lines on firms.firm_uscc = latest_red_lines.developer_uscc
    left join scores
        on
            scores.entity_type = 'firm'
            and firms.firm_uscc = scores.entity_id
    left join model_status on model_status.entity_type = 'firm'
)

select * from final
