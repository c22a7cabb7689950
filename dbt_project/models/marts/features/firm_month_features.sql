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
-- The dbt var `features_as_of` (a date) truncates every input to periods / dates <= it;
-- tests/test_ml_features.py builds this mart with and without it and proves the features of the months
-- <= the cut-off are identical.
-- Firms with a regulator case already opened (prior_case_count > 0) stay here (supervisors read them);
-- the training panel firm_month_training drops those months.
{%- set as_of = var('features_as_of', none) %}
{%- set prone_industries = "'" ~ var('firm_fundraising_prone_industries') | join("', '") ~ "'" %}
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
        {% if as_of %}and report_period <= '{{ as_of }}'::date{% endif %}
),

loans as (
    select
        institution_code,
        report_period,
        loan_id,
        borrower_uscc,
        balance,
        five_category,
        overdue_days
    from {{ ref('stg_submissions__loans') }}
    {% if as_of %}where report_period <= '{{ as_of }}'::date{% endif %}
),

guarantees as (
    select
        institution_code,
        report_period,
        loan_id,
        borrower_uscc,
        guarantor_type,
        guarantor_uscc,
        guarantee_amount
    from {{ ref('stg_submissions__guarantees') }}
    {% if as_of %}where report_period <= '{{ as_of }}'::date{% endif %}
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
        {% if as_of %}and report_period <= '{{ as_of }}'::date{% endif %}
),

accounts as (
    select
        institution_code,
        account_no,
        holder_uscc
    from {{ ref('int_entities__accounts_latest') }}
    where customer_type = '对公' and holder_uscc is not null
),

flow_windows as (
    select * from {{ ref('int_flows__account_windows') }}
    {% if as_of %}where period <= '{{ as_of }}'::date{% endif %}
),

alerts as (
    select
        institution_code,
        account_no,
        period
    from {{ ref('flow_alerts') }}
    {% if as_of %}where period <= '{{ as_of }}'::date{% endif %}
),

links as (
    select * from {{ ref('int_entities__firm_links') }}
    where firm_uscc is not null
),

court as (
    select
        links.firm_uscc,
        court_records.filed_date as event_date,
        court_records.amount
    from {{ ref('stg_external__court_enforcements') }} as court_records
    inner join links
        on
            links.source = 'court_enforcement'
            and court_records.case_no = links.record_key
    where
        court_records.party_type = '企业'
        {% if as_of %}and court_records.filed_date <= '{{ as_of }}'::date{% endif %}
),

registry_changes as (
    select
        uscc as firm_uscc,
        change_date as event_date
    from {{ ref('stg_external__registry_changes') }}
    {% if as_of %}where change_date <= '{{ as_of }}'::date{% endif %}
),

adverts as (
    select
        links.firm_uscc,
        (leads.captured_at at time zone 'Asia/Shanghai')::date as event_date,
        coalesce(flags.illegal_promo, false) as illegal_promo
    from {{ ref('stg_external__advert_leads') }} as leads
    inner join links
        on
            links.source = 'advert_lead'
            and leads.lead_id = links.record_key
    left join {{ ref('stg_external__advert_lead_flags') }} as flags on leads.lead_id = flags.lead_id
    {% if as_of %}where (leads.captured_at at time zone 'Asia/Shanghai')::date <= '{{ as_of }}'::date{% endif %}
),

news as (
    select distinct
        news_links.entity_id as firm_uscc,
        news_items.news_id,
        (news_items.published_at at time zone 'Asia/Shanghai')::date as event_date,
        coalesce(tones.tone = 'negative', false) as is_negative
    from {{ ref('stg_external__news_entity_links') }} as news_links
    inner join {{ ref('stg_external__news') }} as news_items on news_links.news_id = news_items.news_id
    left join {{ ref('stg_external__news_tones') }} as tones on news_links.news_id = tones.news_id
    where
        news_links.entity_type = 'firm'
        and not news_links.ambiguous
        {% if as_of %}
        and (news_items.published_at at time zone 'Asia/Shanghai')::date <= '{{ as_of }}'::date
        {% endif %}
),

-- the month ends of the loan snapshots (every lender submits one each month)
months as (
    select distinct report_period as period
    from loans
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

loan_months as (
    select
        borrower_uscc as firm_uscc,
        report_period as period,
        count(distinct institution_code) as lender_count,
        count(*) as loan_count,
        sum(balance) as loan_balance,
        coalesce(sum(balance) filter (where overdue_days > 0), 0) as overdue_balance,
        max(overdue_days) as max_overdue_days,
        coalesce(sum(balance) filter (where five_category in ('次级', '可疑', '损失')), 0) as npl_balance,
        coalesce(sum(balance) filter (where five_category = '关注'), 0) as special_mention_balance
    from loans
    where borrower_uscc is not null
    group by borrower_uscc, report_period
),

guarantees_given as (
    select
        guarantees.guarantor_uscc as firm_uscc,
        guarantees.report_period as period,
        count(*) as guarantees_given,
        sum(guarantees.guarantee_amount) as guarantees_given_amount,
        count(*) filter (where loans.overdue_days > 0) as guaranteed_loans_overdue
    from guarantees
    left join loans
        on
            guarantees.institution_code = loans.institution_code
            and guarantees.report_period = loans.report_period
            and guarantees.loan_id = loans.loan_id
    where
        guarantees.guarantor_type = '企业'
        and guarantees.guarantor_uscc is not null
        and guarantees.guarantor_uscc <> guarantees.borrower_uscc
    group by guarantees.guarantor_uscc, guarantees.report_period
),

guarantees_received as (
    select
        borrower_uscc as firm_uscc,
        report_period as period,
        count(*) as guarantees_received
    from guarantees
    where borrower_uscc is not null
    group by borrower_uscc, report_period
),

firm_flows as (
    select
        accounts.holder_uscc as firm_uscc,
        flow_windows.period,
        count(*) as flow_accounts,
        sum(flow_windows.payers) as payers,
        sum(flow_windows.individual_payers) as individual_payers,
        sum(flow_windows.elderly_payers) as elderly_payers,
        sum(flow_windows.inflow_count) as inflow_count,
        sum(flow_windows.inflow_amount) as inflow_amount,
        sum(flow_windows.round_inflow_count) as round_inflow_count,
        sum(flow_windows.keyword_inflow_count) as keyword_inflow_count,
        sum(flow_windows.repaid_investors) as repaid_investors,
        max(flow_windows.concentrated_outflow_amount / nullif(flow_windows.inflow_amount, 0))
            as concentrated_outflow_share
    from flow_windows
    inner join accounts
        on
            flow_windows.institution_code = accounts.institution_code
            and flow_windows.account_no = accounts.account_no
    group by accounts.holder_uscc, flow_windows.period
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

court_windows as (
    select
        spine.firm_uscc,
        spine.period,
        count(*) as court_cases_12m,
        count(*) filter (
            where court.event_date >= (date_trunc('month', spine.period) - interval '2 months')::date
        ) as court_cases_3m,
        coalesce(sum(court.amount), 0) as court_amount_12m
    from spine
    {{ join_trailing_months('court', 12) }}
    group by spine.firm_uscc, spine.period
),

change_windows as (
    select
        spine.firm_uscc,
        spine.period,
        count(*) as registry_changes_6m
    from spine
    {{ join_trailing_months('registry_changes', 6) }}
    group by spine.firm_uscc, spine.period
),

advert_windows as (
    select
        spine.firm_uscc,
        spine.period,
        count(*) as adverts_6m,
        count(*) filter (where adverts.illegal_promo) as illegal_promo_adverts_6m
    from spine
    {{ join_trailing_months('adverts', 6) }}
    group by spine.firm_uscc, spine.period
),

news_windows as (
    select
        spine.firm_uscc,
        spine.period,
        count(distinct news.news_id) as news_mentions_6m,
        count(distinct news.news_id) filter (where news.is_negative) as negative_news_6m
    from spine
    {{ join_trailing_months('news', 6) }}
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
        coalesce(loan_months.lender_count, 0) as lender_count,
        coalesce(loan_months.loan_count, 0) as loan_count,
        coalesce(loan_months.loan_balance, 0) as loan_balance,
        loan_months.overdue_balance,
        coalesce(loan_months.max_overdue_days, 0) as max_overdue_days,
        loan_months.npl_balance,
        loan_months.special_mention_balance,
        coalesce(guarantees_given.guarantees_given, 0) as guarantees_given,
        coalesce(guarantees_given.guarantees_given_amount, 0) as guarantees_given_amount,
        coalesce(guarantees_given.guaranteed_loans_overdue, 0) as guaranteed_loans_overdue,
        coalesce(guarantees_received.guarantees_received, 0) as guarantees_received,
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
        coalesce(court_windows.court_cases_12m, 0) as court_cases_12m,
        coalesce(court_windows.court_cases_3m, 0) as court_cases_3m,
        coalesce(court_windows.court_amount_12m, 0) as court_amount_12m,
        coalesce(change_windows.registry_changes_6m, 0) as registry_changes_6m,
        coalesce(advert_windows.adverts_6m, 0) as adverts_6m,
        coalesce(advert_windows.illegal_promo_adverts_6m, 0) as illegal_promo_adverts_6m,
        coalesce(news_windows.news_mentions_6m, 0) as news_mentions_6m,
        coalesce(news_windows.negative_news_6m, 0) as negative_news_6m,
        coalesce(case_history.prior_case_count, 0) as prior_case_count
    from spine
    left join customer_state using (firm_uscc, period)
    left join customer_reach using (firm_uscc, period)
    left join loan_months using (firm_uscc, period)
    left join guarantees_given using (firm_uscc, period)
    left join guarantees_received using (firm_uscc, period)
    left join firm_flows using (firm_uscc, period)
    left join firm_alerts using (firm_uscc, period)
    left join court_windows using (firm_uscc, period)
    left join change_windows using (firm_uscc, period)
    left join advert_windows using (firm_uscc, period)
    left join news_windows using (firm_uscc, period)
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
        (flow_alert_accounts > 0)::int as confirmed_flow_pattern
    from rolled
)

select * from final
