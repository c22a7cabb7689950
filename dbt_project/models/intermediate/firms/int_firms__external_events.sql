-- A firm's dated external events, one row per firm and record: court enforcement cases (by filing date),
-- registry changes (by change date), advert leads (by capture time) and news mentions (by publication
-- time), dates in Asia/Shanghai. The one place the external feeds are tied to firms; read by
-- firm_month_features (trailing windows) and firm_portrait (totals).
--  * court_enforcement, advert_lead: the record's firm as resolved by int_entities__firm_links
--    (`resolved_link`); court cases against firms (party type 企业) only. An advert lead is also kept
--    for the firm the external-feed linker named on its flag (`linker_link`), even where the resolution
--    does not take that looser link (int_entities__firm_links explains why): the portrait lists those
--    candidate leads, the point-in-time features count resolved links only.
--  * registry_change: the change's own USCC.
--  * news: the firm linked to the news item without ambiguity (news_entity_link).
-- `list_type` (court) is revised by the source later (a case escalates to the defaulter list): the
-- portrait shows its current value, point-in-time features must not use it.
with

links as (
    select
        source,
        record_key,
        firm_uscc
    from {{ ref('int_entities__firm_links') }}
    where firm_uscc is not null
),

court as (
    select
        links.firm_uscc,
        'court_enforcement' as event_type,
        court_records.case_no as event_id,
        court_records.filed_date as event_date,
        court_records.amount,
        court_records.list_type,
        null::boolean as illegal_promo,
        null::boolean as is_negative,
        true as resolved_link,
        false as linker_link
    from {{ ref('stg_external__court_enforcements') }} as court_records
    inner join links
        on
            links.source = 'court_enforcement'
            and court_records.case_no = links.record_key
    where court_records.party_type = '企业'
),

registry_changes as (
    select
        uscc as firm_uscc,
        'registry_change' as event_type,
        change_id as event_id,
        change_date as event_date,
        null::numeric as amount,
        null::text as list_type,
        null::boolean as illegal_promo,
        null::boolean as is_negative,
        true as resolved_link,
        false as linker_link
    from {{ ref('stg_external__registry_changes') }}
),

leads as (
    select
        lead_id,
        (captured_at at time zone 'Asia/Shanghai')::date as event_date
    from {{ ref('stg_external__advert_leads') }}
),

flags as (
    select * from {{ ref('stg_external__advert_lead_flags') }}
),

-- the advert's firm as resolved by int_entities__firm_links, once per flag row of the lead
resolved_adverts as (
    select
        links.firm_uscc,
        'advert_lead' as event_type,
        leads.lead_id as event_id,
        leads.event_date,
        null::numeric as amount,
        null::text as list_type,
        coalesce(flags.illegal_promo, false) as illegal_promo,
        null::boolean as is_negative,
        true as resolved_link,
        coalesce(flags.linked_entity_type = 'firm' and flags.linked_entity_id = links.firm_uscc, false)
            as linker_link
    from leads
    inner join links
        on
            links.source = 'advert_lead'
            and leads.lead_id = links.record_key
    left join flags on leads.lead_id = flags.lead_id
),

-- the linker's candidate links (advert flags) to a firm the resolution did not pick
linker_only_adverts as (
    select
        flags.linked_entity_id as firm_uscc,
        'advert_lead' as event_type,
        flags.lead_id as event_id,
        (
            select min(leads.event_date) from leads
            where leads.lead_id = flags.lead_id
        ) as event_date,
        null::numeric as amount,
        null::text as list_type,
        coalesce(flags.illegal_promo, false) as illegal_promo,
        null::boolean as is_negative,
        false as resolved_link,
        true as linker_link
    from flags
    where
        flags.linked_entity_type = 'firm'
        and not exists (
            select 1 from links
            where
                links.source = 'advert_lead'
                and links.record_key = flags.lead_id
                and links.firm_uscc = flags.linked_entity_id
        )
),

news as (
    select distinct
        news_links.entity_id as firm_uscc,
        'news' as event_type,
        news_items.news_id as event_id,
        (news_items.published_at at time zone 'Asia/Shanghai')::date as event_date,
        null::numeric as amount,
        null::text as list_type,
        null::boolean as illegal_promo,
        coalesce(tones.tone = 'negative', false) as is_negative,
        true as resolved_link,
        false as linker_link
    from {{ ref('stg_external__news_entity_links') }} as news_links
    inner join {{ ref('stg_external__news') }} as news_items on news_links.news_id = news_items.news_id
    left join {{ ref('stg_external__news_tones') }} as tones on news_links.news_id = tones.news_id
    where
        news_links.entity_type = 'firm'
        and not news_links.ambiguous
),

final as (
    select * from court
    union all
    select * from registry_changes
    union all
    select * from resolved_adverts
    union all
    select * from linker_only_adverts
    union all
    select * from news
)

select * from final
