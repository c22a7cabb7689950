{{ config(
    materialized='table' if var('features_as_of', none) else 'incremental',
    unique_key=['period'],
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}
-- depends_on: {{ source('ops', 'batch') }}, {{ source('ops', 'submission') }}
-- Point-in-time features of every firm and month end, for the firm early-warning model and for
-- supervisors (one truth). Population: firms (by USCC) that are corporate customers of some
-- institution, from the month of their first customer record on. A feature of month t uses only
-- what was known at t:
--   * submissions for periods <= t: the customer records (latest one <= t), the loan and guarantee
--     snapshots of t (and of earlier months, for changes), the flow windows of the firm's accounts
--     ending at t and the flow alerts of months <= t, the regulator's cases reported for periods <= t;
--   * external records by their own date <= t: court enforcement by filing date, registry changes by
--     change date, advert leads by capture time, news by publication time (Asia/Shanghai dates).
--     Attributes that external sources revise later are not used: a court case's list type and status
--     (escalated months later) and the registry's current status (吊销 after a collapse).
-- The firm behind an account is its latest customer record's USCC (an account's holder never changes).
-- The penalties feed names institutions and their staff only, so no firm feature comes from it.
-- The monthly aggregates come from int_firms__monthly_exposure (loans, guarantees) and
-- int_firms__monthly_flows (each row from its own period's snapshots and windows only), the dated
-- external events from int_firms__external_events (shared with firm_portrait). The dbt var
-- `features_as_of` (a date; macro as_of) truncates every input to periods / dates <= it:
-- tests/test_ml_firm.py builds this mart with and without it and proves the features of the months
-- <= the cut-off are identical.
-- Firms with a regulator case already opened (prior_case_count > 0) stay here (supervisors read them);
-- the training panel firm_month_training drops those months.
-- Incremental by month (a table with `features_as_of`): a build recomputes the months from the earliest
-- period of an accepted batch newer than the mart's `built_batch_id` (macros/rebuild_from_period.sql) on,
-- for every firm, reading the six months before them for the rolling and lagged values; earlier months
-- stay. An input of month t only changes features of months >= t (customer records hold until replaced,
-- windows trail), so nothing earlier needs recomputing. The external feeds are not batches: when the
-- digest of int_firms__external_events differs from the stored `built_events_digest` (new or revised
-- external records, new links), the build recomputes every month.
{%- set prone_industries = "'" ~ var('firm_fundraising_prone_industries') | join("', '") ~ "'" %}
{%- set watermark = batch_watermark() %}
{%- set events_digest = relation_digest(ref('int_firms__external_events')) %}
{%- set partial = is_incremental() and not var('features_as_of', none)
    and stored_value_is(this, 'built_events_digest', events_digest) %}
{%- set from_period = first_new_batch_period(this, watermark) if partial else none %}
with

corporates as (
    select
        uscc,
        institution_code,
        report_period,
        industry_code,
        registered_capital,
        founded_date,
        batch_id
    from {{ ref('stg_submissions__corporate_customers') }}
    where
        uscc is not null
        {{ as_of('report_period', 'and') }}
),

cases as (
    select
        uscc,
        report_period,
        case_type
    from {{ ref('stg_submissions__regulator_cases') }}
    where
        entity_type = '企业'
        and uscc is not null
        {{ as_of('report_period', 'and') }}
),

exposure as (
    select * from {{ ref('int_firms__monthly_exposure') }}
    {{ as_of('period') }}
),

firm_flows as (
    select * from {{ ref('int_firms__monthly_flows') }}
    {{ as_of('period') }}
),

accounts as (
    select
        institution_code,
        account_no,
        holder_uscc
    from {{ ref('int_entities__accounts_latest') }}
    where customer_type = '对公' and holder_uscc is not null
),

alerts as (
    select
        institution_code,
        account_no,
        period
    from {{ ref('flow_alerts') }}
    {{ as_of('period') }}
),

events as (
    select * from {{ ref('int_firms__external_events') }}
    where
        resolved_link
        {{ as_of('event_date', 'and') }}
),

-- the month ends of the loan snapshots (every lender submits one each month)
months as (
    select distinct report_period as period
    from {{ ref('stg_submissions__loans') }}
    {{ as_of('report_period') }}
    {% if partial and from_period %}
    where report_period >= '{{ month_start_before(from_period, 6) }}'::date
    {% elif partial %}
    where false
    {% endif %}
),

firm_start as (
    select
        uscc as firm_uscc,
        min(report_period) as first_customer_period
    from corporates
    group by uscc
),

-- one row per firm and month from its first customer record on (dense: rolling windows count rows)
spine as (
    select
        firm_start.firm_uscc,
        months.period,
        firm_start.first_customer_period
    from firm_start
    inner join months on firm_start.first_customer_period <= months.period
),

customer_state as (
    select distinct on (spine.firm_uscc, spine.period)
        spine.firm_uscc,
        spine.period,
        corporates.industry_code,
        corporates.registered_capital,
        corporates.founded_date
    from spine
    inner join corporates
        on
            spine.firm_uscc = corporates.uscc
            and spine.period >= corporates.report_period
    order by
        spine.firm_uscc asc, spine.period asc, corporates.report_period desc, corporates.institution_code asc,
        corporates.batch_id desc
),

customer_reach as (
    select
        spine.firm_uscc,
        spine.period,
        count(distinct corporates.institution_code) as customer_of_institutions
    from spine
    inner join corporates
        on
            spine.firm_uscc = corporates.uscc
            and spine.period >= corporates.report_period
    group by spine.firm_uscc, spine.period
),

firm_alerts as (
    select
        accounts.holder_uscc as firm_uscc,
        alerts.period,
        count(distinct alerts.institution_code || ':' || alerts.account_no) as alert_accounts
    from alerts
    inner join accounts
        on
            alerts.institution_code = accounts.institution_code
            and alerts.account_no = accounts.account_no
    group by accounts.holder_uscc, alerts.period
),

-- court cases of the last 12 and 3 months, registry changes, adverts and news of the last 6
event_windows as (
    select
        spine.firm_uscc,
        spine.period,
        count(*) filter (where events.event_type = 'court_enforcement') as court_cases_12m,
        count(*) filter (
            where events.event_type = 'court_enforcement' and {{ in_trailing_months('events', 3) }}
        ) as court_cases_3m,
        coalesce(sum(events.amount) filter (where events.event_type = 'court_enforcement'), 0)
            as court_amount_12m,
        count(*) filter (
            where events.event_type = 'registry_change' and {{ in_trailing_months('events', 6) }}
        ) as registry_changes_6m,
        count(*) filter (
            where events.event_type = 'advert_lead' and {{ in_trailing_months('events', 6) }}
        ) as adverts_6m,
        count(*) filter (
            where events.event_type = 'advert_lead' and events.illegal_promo and {{ in_trailing_months('events', 6) }}
        ) as illegal_promo_adverts_6m,
        count(distinct events.event_id) filter (
            where events.event_type = 'news' and {{ in_trailing_months('events', 6) }}
        ) as news_mentions_6m,
        count(distinct events.event_id) filter (
            where events.event_type = 'news' and events.is_negative and {{ in_trailing_months('events', 6) }}
        ) as negative_news_6m
    from spine
    {{ join_trailing_months('events', 12) }}
    group by spine.firm_uscc, spine.period
),

case_history as (
    select
        spine.firm_uscc,
        spine.period,
        count(*) as prior_case_count
    from spine
    inner join cases
        on
            spine.firm_uscc = cases.uscc
            and spine.period >= cases.report_period
    where cases.case_type in ('非法集资', '被执行')
    group by spine.firm_uscc, spine.period
),

joined as (
    select
        spine.firm_uscc,
        spine.period,
        customer_state.industry_code,
        customer_state.registered_capital,
        customer_state.founded_date,
        customer_reach.customer_of_institutions,
        coalesce(exposure.lender_count, 0) as lender_count,
        coalesce(exposure.loan_count, 0) as loan_count,
        coalesce(exposure.loan_balance, 0) as loan_balance,
        exposure.overdue_balance,
        coalesce(exposure.max_overdue_days, 0) as max_overdue_days,
        exposure.npl_balance,
        exposure.special_mention_balance,
        coalesce(exposure.guarantees_given, 0) as guarantees_given,
        coalesce(exposure.guarantees_given_amount, 0) as guarantees_given_amount,
        coalesce(exposure.guaranteed_loans_overdue, 0) as guaranteed_loans_overdue,
        coalesce(exposure.guarantees_received, 0) as guarantees_received,
        coalesce(firm_flows.flow_accounts, 0) as flow_accounts,
        coalesce(firm_flows.payers, 0) as flow_payers,
        firm_flows.individual_payers,
        firm_flows.elderly_payers,
        firm_flows.inflow_count,
        coalesce(firm_flows.inflow_amount, 0) as flow_inflow_amount,
        firm_flows.round_inflow_count,
        firm_flows.keyword_inflow_count,
        coalesce(firm_flows.repaid_investors, 0) as flow_repaid_investors,
        firm_flows.concentrated_outflow_share as flow_concentrated_outflow_share,
        coalesce(firm_alerts.alert_accounts, 0) as flow_alert_accounts,
        coalesce(event_windows.court_cases_12m, 0) as court_cases_12m,
        coalesce(event_windows.court_cases_3m, 0) as court_cases_3m,
        coalesce(event_windows.court_amount_12m, 0) as court_amount_12m,
        coalesce(event_windows.registry_changes_6m, 0) as registry_changes_6m,
        coalesce(event_windows.adverts_6m, 0) as adverts_6m,
        coalesce(event_windows.illegal_promo_adverts_6m, 0) as illegal_promo_adverts_6m,
        coalesce(event_windows.news_mentions_6m, 0) as news_mentions_6m,
        coalesce(event_windows.negative_news_6m, 0) as negative_news_6m,
        coalesce(case_history.prior_case_count, 0) as prior_case_count
    from spine
    left join customer_state using (firm_uscc, period)
    left join customer_reach using (firm_uscc, period)
    left join exposure using (firm_uscc, period)
    left join firm_flows using (firm_uscc, period)
    left join firm_alerts using (firm_uscc, period)
    left join event_windows using (firm_uscc, period)
    left join case_history using (firm_uscc, period)
),

-- rolling and lagged values over each firm's dense run of months
rolled as (
    select
        joined.*,
        sum((joined.max_overdue_days > 0)::int) over (
            partition by joined.firm_uscc order by joined.period rows between 5 preceding and current row
        ) as overdue_months_6m,
        sum((joined.flow_alert_accounts > 0)::int) over (
            partition by joined.firm_uscc order by joined.period rows between 2 preceding and current row
        ) as flow_alert_months_3m,
        lag(joined.loan_balance, 3) over (partition by joined.firm_uscc order by joined.period)
            as loan_balance_3m_ago,
        lag(joined.lender_count, 6) over (partition by joined.firm_uscc order by joined.period)
            as lender_count_6m_ago
    from joined
),

final as (
    select
        firm_uscc,
        period,
        industry_code,
        -- registry attributes (the latest customer record <= t)
        round(((period - founded_date) / 365.25)::numeric, 2) as firm_age_years,
        ln(1 + coalesce(registered_capital, 0) / 10000.0) as registered_capital_log,
        coalesce(industry_code in ({{ prone_industries }}), false)::int as fundraising_prone_industry,
        customer_of_institutions,
        -- borrowing across all lenders (loan snapshots of t)
        lender_count,
        loan_count,
        ln(1 + loan_balance / 10000.0) as loan_balance_log,
        overdue_balance / nullif(loan_balance, 0) as overdue_balance_share,
        max_overdue_days,
        npl_balance / nullif(loan_balance, 0) as npl_balance_share,
        special_mention_balance / nullif(loan_balance, 0) as special_mention_share,
        overdue_months_6m::int as overdue_months_6m,
        (loan_balance - loan_balance_3m_ago) / nullif(loan_balance_3m_ago, 0) as loan_balance_chg_3m,
        lender_count - lender_count_6m_ago as lender_count_chg_6m,
        -- guarantees (snapshots of t)
        guarantees_given,
        ln(1 + guarantees_given_amount / 10000.0) as guarantees_given_amount_log,
        guaranteed_loans_overdue,
        guarantees_received,
        -- flows into the firm's accounts (windows of var('flow_window_months') months ending t)
        flow_accounts,
        flow_payers,
        individual_payers::numeric / nullif(flow_payers, 0) as flow_individual_share,
        elderly_payers::numeric / nullif(flow_payers, 0) as flow_elderly_share,
        round_inflow_count::numeric / nullif(inflow_count, 0) as flow_round_share,
        keyword_inflow_count::numeric / nullif(inflow_count, 0) as flow_keyword_share,
        ln(1 + flow_inflow_amount / 10000.0) as flow_inflow_amount_log,
        flow_repaid_investors,
        flow_concentrated_outflow_share,
        flow_alert_accounts,
        flow_alert_months_3m::int as flow_alert_months_3m,
        -- external records by their own date
        court_cases_12m,
        court_cases_3m,
        ln(1 + court_amount_12m / 10000.0) as court_amount_12m_log,
        registry_changes_6m,
        adverts_6m,
        illegal_promo_adverts_6m,
        news_mentions_6m,
        negative_news_6m,
        -- the regulator's own records so far
        prior_case_count,
        -- rule baseline: red flags raised at t (higher = riskier)
        (
            (max_overdue_days > 0)::int
            + (coalesce(npl_balance, 0) > 0)::int
            + (guaranteed_loans_overdue > 0)::int
            + (court_cases_12m > 0)::int
            + (flow_alert_months_3m > 0)::int
            + (illegal_promo_adverts_6m > 0)::int
            + (negative_news_6m > 0)::int
        ) as red_flag_count,
        -- rule override (ml/levels.py): a flow alert on one of the firm's accounts at t -> red
        (flow_alert_accounts > 0)::int as confirmed_flow_pattern,
        {{ watermark }}::bigint as built_batch_id,
        {{ events_digest }}::bigint as built_events_digest
    from rolled
    {% if partial and from_period %}
    where period >= '{{ month_start_before(from_period, 0) }}'::date
    {% endif %}
)

select * from final
