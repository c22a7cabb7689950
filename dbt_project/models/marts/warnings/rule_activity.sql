-- The rule catalogue at work (issue #16 item 6): per rule of the seed rule_catalogue, bureau and month,
-- how many warnings it raised and how supervisors disposed of them (the current disposition in
-- ops.alert_disposition_current: confirmed / false_positive = dismissed / under_review or none = open),
-- and the share dismissed, so that noisy rules are visible and can be retired. Warnings without a period
-- (network and firm rules) count in the month of the build. Flow alerts are disposed of as kind
-- 'flow_alert' under their alert id (warnings carry it as subject_key in evidence); warnings as 'warning'.
with

catalogue as (
    select * from {{ ref('rule_catalogue') }}
),

warnings as (
    select * from {{ ref('warnings') }}
),

dispositions as (
    select * from {{ source('ops_actions', 'alert_disposition_current') }}
),

fired as (
    select
        warnings.rule_code,
        warnings.bureau_code,
        date_trunc('month', coalesce(warnings.period, current_date))::date as warning_month,
        coalesce(warning_decisions.disposition, alert_decisions.disposition) as disposition
    from warnings
    left join dispositions as warning_decisions
        on
            warning_decisions.alert_kind = 'warning'
            and warnings.warning_id = warning_decisions.alert_id
    left join dispositions as alert_decisions
        on
            alert_decisions.alert_kind = 'flow_alert'
            and warnings.rule_code = 'flow_pattern:illegal_fundraising'
            and (warnings.evidence ->> 'institution_code') || ':' || (warnings.evidence ->> 'account_no')
            || ':' || warnings.period = alert_decisions.alert_id
),

final as (
    select
        catalogue.rule_code,
        catalogue.rule_kind,
        catalogue.name_zh,
        catalogue.name_en,
        catalogue.owner,
        catalogue.status as rule_status,
        fired.bureau_code,
        fired.warning_month,
        count(*) as fired,
        count(*) filter (where fired.disposition = 'confirmed') as confirmed,
        count(*) filter (where fired.disposition = 'false_positive') as dismissed,
        count(*) filter (where fired.disposition = 'under_review' or fired.disposition is null) as open,
        round(
            count(*) filter (where fired.disposition = 'false_positive')::numeric
            / nullif(count(*) filter (where fired.disposition in ('confirmed', 'false_positive')), 0),
            4
        ) as dismissed_share
    from catalogue
    inner join fired on catalogue.rule_code = fired.rule_code
    group by
        catalogue.rule_code, catalogue.rule_kind, catalogue.name_zh, catalogue.name_en, catalogue.owner,
        catalogue.status, fired.bureau_code, fired.warning_month
)

select * from final
