-- The developers' "three red lines" (三道红线, the PBoC and MOHURD financing rules for real-estate developers
-- of August 2020), computed from each disclosed quarterly balance sheet (never a served ratio):
--   line 1 liability_ratio_ex_adv = (total liabilities - advance receipts) / (total assets - advance receipts),
--          breached above var('red_line_liability_ratio_max') (70%);
--   line 2 net_gearing = (short-term + long-term interest-bearing debt - cash) / equity,
--          breached above var('red_line_net_gearing_max') (100%), and whenever equity is zero or negative;
--   line 3 cash_to_short_debt = cash / short-term interest-bearing debt,
--          breached below var('red_line_cash_to_short_debt_min') (1.0); no short-term debt is no breach.
-- A value exactly at its threshold is not a breach. Colour by lines breached: 0 green, 1 yellow,
-- 2 orange, 3 red (the rules' 绿档/黄档/橙档/红档). One row per published version of each disclosure (developer
-- and quarter): a restated balance sheet is judged again, and `is_latest_version` marks what is known today.
with

disclosures as (
    select * from {{ ref('stg_external__developer_financials') }}
),

ratios as (
    select
        disclosure_id,
        developer_uscc,
        developer_name,
        report_period,
        total_assets,
        total_liabilities,
        advance_receipts,
        cash,
        short_term_debt,
        long_term_debt,
        short_term_debt + long_term_debt as interest_bearing_debt,
        equity,
        (total_liabilities - advance_receipts)
        / nullif(total_assets - advance_receipts, 0) as liability_ratio_ex_adv,
        case
            when equity > 0 then (short_term_debt + long_term_debt - cash) / equity
        end as net_gearing,
        case
            when short_term_debt > 0 then cash / short_term_debt
        end as cash_to_short_debt,
        version,
        published_at,
        first_published_at,
        is_latest_version
    from disclosures
),

flagged as (
    select
        *,
        coalesce(
            liability_ratio_ex_adv > {{ var('red_line_liability_ratio_max') }},
            total_liabilities - advance_receipts > 0
        ) as breach_liability_ratio,
        coalesce(net_gearing > {{ var('red_line_net_gearing_max') }}, true) as breach_net_gearing,
        coalesce(cash_to_short_debt < {{ var('red_line_cash_to_short_debt_min') }}, false) as breach_cash_ratio
    from ratios
),

final as (
    select
        *,
        breach_liability_ratio::int + breach_net_gearing::int + breach_cash_ratio::int as lines_breached,
        case breach_liability_ratio::int + breach_net_gearing::int + breach_cash_ratio::int
            when 0 then 'green'
            when 1 then 'yellow'
            when 2 then 'orange'
            else 'red'
        end as colour
    from flagged
)

select * from final
