-- Flows into a firm's accounts per month end: the flow windows (int_flows__account_windows, the
-- var('flow_window_months') months ending at the period) of the firm's corporate accounts, summed over
-- its accounts. One row per firm (the account holder's USCC) and period; each row uses only its own
-- period's windows. (The flow alerts on the firm's accounts are a mart, flow_alerts: the feature mart
-- reads them itself.)
with

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
),

final as (
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
)

select * from final
