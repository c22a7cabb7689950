-- Rule-based warnings, one row per entity, period and rule, each with its evidence, plus the latest
-- early-warning model level of the entity (left join: empty until scoring runs).
-- Rules: a prudential threshold breached; NPL understated against the loan detail; a suspected
-- fundraising flow; a guarantee circle with members in arrears; a firm on the defaulters' list that
-- still borrows; a bank lending too much to red-line developers at a quarter end.
with

indicators as (
    select
        indicator_rows.*,
        coalesce(indicator_labels.indicator_name_zh, indicator_rows.indicator_code) as indicator_name_zh,
        coalesce(indicator_labels.indicator_name_en, indicator_rows.indicator_code) as indicator_name_en
    from {{ ref('prudential_indicators') }} as indicator_rows
    left join {{ ref('indicator_names') }} as indicator_labels
        on indicator_rows.indicator_code = indicator_labels.indicator_code
),

alerts as (
    select * from {{ ref('flow_alerts') }}
),

networks as (
    select * from {{ ref('guarantee_networks') }}
),

firms as (
    select * from {{ ref('firm_portrait') }}
),

institutions as (
    select * from {{ ref('int_entities__institutions') }}
),

scores as (
    select * from {{ ref('stg_ml__latest_risk_scores') }}
),

catalogue as (
    select * from {{ ref('rule_catalogue') }}
),

red_line_exposure as (
    select * from {{ ref('bank_red_line_exposure') }}
),

model_status as (
    select * from {{ ref('stg_ml__model_status') }}
),

breaches as (
    select
        'institution' as entity_type,
        institution_code as entity_id,
        bureau_code,
        period,
        'threshold_breach:' || indicator_code as rule_code,
        case
            when indicator_code in ('total_car', 'tier1_car', 'cet1_car', 'solvency_ratio', 'lcr') then 'high'
            else 'medium'
        end as severity,
        -- in words, for people: 单一客户贷款集中度为 187.60%，高于上限 10.00%（《…》）
        indicator_name_zh || '为 ' || {{ format_percent('indicator_value') }}
        || (case comparator when 'min' then '，低于下限 ' else '，高于上限 ' end)
        || {{ format_percent('threshold_value') }} || '（' || rule_reference_zh || '）' as description_zh,
        indicator_name_en || ' at ' || {{ format_percent('indicator_value') }}
        || (case comparator when 'min' then ', below the minimum of ' else ', above the maximum of ' end)
        || {{ format_percent('threshold_value') }} || ' (' || rule_reference_en || ')' as description_en,
        jsonb_build_object(
            'indicator', indicator_code, 'value', indicator_value, 'threshold', threshold_value,
            'peer_percentile', peer_percentile, 'qoq_change', qoq_change
        ) as evidence,
        '' as subject_key,
        source_batch_ids
    from indicators
    where is_breach
),

npl_understated as (
    select
        'institution',
        institution_code,
        bureau_code,
        period,
        'npl_understated',
        'high',
        '报送不良贷款率 ' || {{ format_percent('indicator_value') }} || '，低于贷款明细推算的 '
        || {{ format_percent('detail_value') }},
        'Reported NPL ratio ' || {{ format_percent('indicator_value') }}
        || ', below the ratio derived from the loan detail, ' || {{ format_percent('detail_value') }},
        jsonb_build_object('reported', indicator_value, 'detail', detail_value, 'gap', reported_vs_detail_gap),
        '',
        array_remove(source_batch_ids || detail_batch_id, null)
    from indicators
    where
        indicator_code = 'npl_ratio'
        and reported_vs_detail_gap < -{{ var('npl_gap_tolerance') }}
),

flows as (
    select
        case when holder_uscc is not null then 'firm' else 'account' end,
        coalesce(holder_uscc, account_no),
        bureau_code,
        period,
        'flow_pattern:illegal_fundraising',
        'high',
        '疑似非法集资资金流：' || payers || ' 个付款人，个人占比 ' || {{ format_percent('individual_share', 1) }}
        || '，返息投资人 ' || repaid_investors || ' 人',
        'Suspected illegal-fundraising flows: ' || payers || ' payers, individuals '
        || {{ format_percent('individual_share', 1) }} || ', investors repaid ' || repaid_investors,
        jsonb_build_object(
            'account_no', account_no, 'institution_code', institution_code, 'payers', payers,
            'inflow_amount', inflow_amount, 'round_share', round_share, 'keyword_share', keyword_share,
            'elderly_share', elderly_share, 'repaid_investors', repaid_investors,
            'concentrated_outflow_share', concentrated_outflow_share,
            'example_inflow_txn_ids', example_inflow_txn_ids, 'example_outflow_txn_ids', example_outflow_txn_ids
        ),
        institution_code || ':' || account_no,
        source_batch_ids
    from alerts
),

circles as (
    select
        'firm',
        member,
        firms.bureau_code,
        null::date,
        'guarantee_circle_in_arrears',
        'medium',
        '担保圈（' || networks.member_count || ' 家）中 ' || networks.members_in_arrears_count || ' 家逾期',
        'Guarantee circle of ' || networks.member_count || ' firms, ' || networks.members_in_arrears_count
        || ' in arrears',
        jsonb_build_object(
            'network_id', networks.network_id, 'members', networks.members,
            'members_in_arrears', networks.members_in_arrears,
            'total_guaranteed_amount', networks.total_guaranteed_amount
        ),
        networks.network_id,
        '{}'::bigint[]
    from networks
    cross join unnest(networks.members) as member
    left join firms on member = firms.firm_uscc
    where networks.network_type = 'circle' and networks.members_in_arrears_count > 0
),

defaulters as (
    select
        'firm',
        firm_uscc,
        bureau_code,
        null::date,
        'defaulter_still_borrowing',
        'medium',
        '失信被执行人仍有贷款余额 ' || to_char(total_loan_balance, 'FM999,999,999,999,990.00') || ' 元',
        'On the defaulters list with loans outstanding: CNY '
        || to_char(total_loan_balance, 'FM999,999,999,999,990.00'),
        jsonb_build_object('enforcement_cases', enforcement_cases, 'total_loan_balance', total_loan_balance),
        '',
        '{}'::bigint[]
    from firms
    where on_defaulter_list and total_loan_balance > 0
),

red_line_lenders as (
    select
        'institution',
        institution_code,
        bureau_code,
        period,
        'red_line_developer_exposure',
        'medium',
        '对红档房企（三道红线全部踩线）贷款余额 ' || to_char(loan_balance, 'FM999,999,999,999,990.00') || ' 元（'
        || developer_count || ' 家），占对公贷款 ' || {{ format_percent('share_of_corporate_loans') }} || '，高于 '
        || {{ format_percent(var('red_line_exposure_max_share')) }} || '（三道红线，人民银行、住房城乡建设部 2020）',
        'Loans to red developers (all three red lines breached) of CNY '
        || to_char(loan_balance, 'FM999,999,999,999,990.00') || ' (' || developer_count || ' developers), '
        || {{ format_percent('share_of_corporate_loans') }} || ' of corporate loans, above '
        || {{ format_percent(var('red_line_exposure_max_share')) }} || ' (three red lines, PBoC/MOHURD 2020)',
        jsonb_build_object(
            'red_developer_loans', loan_balance, 'share_of_corporate_loans', share_of_corporate_loans,
            'threshold', {{ var('red_line_exposure_max_share') }}, 'developers', developer_usccs,
            'corporate_loans', corporate_loans
        ),
        '',
        '{}'::bigint[]
    from red_line_exposure
    where
        colour = 'red'
        and share_of_corporate_loans > {{ var('red_line_exposure_max_share') }}
        and extract(month from period)::int % 3 = 0
),

all_warnings as (
    select * from breaches
    union all
    select * from npl_understated
    union all
    select * from flows
    union all
    select * from circles
    union all
    select * from defaulters
    union all
    select * from red_line_lenders
),

final as (
    select
        md5(
            all_warnings.entity_type || ':' || all_warnings.entity_id || ':' || coalesce(all_warnings.period::text, '')
            || ':' || all_warnings.rule_code || ':' || all_warnings.subject_key
        ) as warning_id,
        all_warnings.entity_type,
        all_warnings.entity_id,
        coalesce(institutions.institution_name, firms.firm_name) as entity_name,
        coalesce(all_warnings.bureau_code, '{{ var("national_bureau_code") }}') as bureau_code,
        all_warnings.period,
        all_warnings.rule_code,
        catalogue.name_zh as rule_name_zh,
        catalogue.name_en as rule_name_en,
        catalogue.status as rule_status,
        all_warnings.severity,
        all_warnings.description_zh,
        all_warnings.description_en,
        all_warnings.evidence,
        scores.risk_probability,
        scores.risk_warning_level,
        scores.risk_reasons,
        all_warnings.source_batch_ids,
        model_status.risk_model_status,
        model_status.risk_model_short_en,
        model_status.risk_model_note_en,
        model_status.risk_model_note_zh
    from all_warnings
    left join institutions
        on all_warnings.entity_type = 'institution' and all_warnings.entity_id = institutions.institution_code
    left join firms
        on all_warnings.entity_type = 'firm' and all_warnings.entity_id = firms.firm_uscc
    left join scores
        on all_warnings.entity_type = scores.entity_type and all_warnings.entity_id = scores.entity_id
    left join catalogue on all_warnings.rule_code = catalogue.rule_code
    left join model_status on all_warnings.entity_type = model_status.entity_type
)

select * from final
