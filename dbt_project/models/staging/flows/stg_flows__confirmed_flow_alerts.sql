-- Flow alerts whose latest disposition is 'confirmed' (ops.record_disposition), split back into the
-- account-month they concern (alert_id = institution_code:account_no:period, marts_flows.flow_alerts).
with

source as (
    select * from {{ source('ops_flows', 'alert_disposition_current') }}
    where alert_kind = 'flow_alert' and disposition = 'confirmed'
),

final as (
    select distinct
        split_part(alert_id, ':', 1) as institution_code,
        split_part(alert_id, ':', 2) as account_no,
        split_part(alert_id, ':', 3)::date as period
    from source
    where alert_id ~ '^[^:]+:[^:]+:[0-9]{4}-[0-9]{2}-[0-9]{2}$'
)

select * from final
