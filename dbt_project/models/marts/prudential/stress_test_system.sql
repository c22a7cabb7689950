-- The stress test for the system (issue #16 item 2): per quarter, scenario, level and supervising bureau,
-- how many institutions were tested and failed, and the total capital shortfall. HQ sees every bureau's
-- rows (sum them for the nation); a bureau sees its own.
with

results as (
    select * from {{ ref('stress_test_results') }}
),

final as (
    select
        period,
        scenario_code,
        level,
        bureau_code,
        count(*) as institutions_tested,
        count(*) filter (where not passed) as institutions_failed,
        sum(capital_shortfall) as total_capital_shortfall,
        sum(total_loss) as total_loss,
        min(post_total_car) as lowest_post_total_car,
        round((percentile_cont(0.5) within group (order by post_total_car))::numeric, 6) as median_post_total_car
    from results
    group by period, scenario_code, level, bureau_code
)

select * from final
