-- Firm resolution: each firm mention linked to one firm (its USCC).
--  1. `uscc`: the record carries a USCC (GB 32100 checked at ingest) -> that firm.
--  2. `name_region`: no USCC; normalised name (macro normalise_firm_name) and region match exactly one
--     known firm.
--  3. `name`: no USCC and no region on the record; the normalised name matches exactly one known firm.
--  4. `advert_linker`: an advert lead's advertiser (often a firm's short name, which 2–3 cannot match)
--     that the external-feed linker (include/external/signals.py link_advertiser) found to be exactly
--     one firm's full or short name (`exact_*`, ties broken by the advert's city or industry). Its
--     looser links (name + suffix, one-character variants, a firm named in the text) stay candidate
--     leads on the advert flags: on small/13 every name + suffix link named the wrong firm (an
--     unregistered brand sharing a firm's short name), so they do not resolve entities.
--  Otherwise the mention stays unresolved (firm_uscc null): ambiguity is never guessed.
-- Known firms: USCCs seen in the registry or in the institutions' corporate customer records.
with

mentions as (
    select * from {{ ref('int_entities__firm_mentions') }}
),

advert_links as (
    select distinct on (lead_id)
        lead_id,
        linked_entity_id as uscc
    from {{ ref('stg_external__advert_lead_flags') }}
    where
        linked_entity_type = 'firm'
        and link_method like 'exact\_%'
    order by lead_id asc, lead_version desc
),

known as (
    select distinct on (uscc)
        uscc,
        name_key,
        region_code
    from mentions
    where
        uscc is not null
        and source in ('registry', 'corporate_customer')
    order by uscc, (source = 'registry') desc
),

by_name_region as (
    select
        name_key,
        region_code,
        min(uscc) as uscc
    from known
    group by name_key, region_code
    having count(distinct uscc) = 1
),

by_name as (
    select
        name_key,
        min(uscc) as uscc
    from known
    group by name_key
    having count(distinct uscc) = 1
),

final as (
    select
        mentions.source,
        mentions.record_key,
        mentions.name,
        mentions.region_code,
        coalesce(mentions.uscc, by_name_region.uscc, by_name.uscc, advert_links.uscc) as firm_uscc,
        case
            when mentions.uscc is not null then 'uscc'
            when by_name_region.uscc is not null then 'name_region'
            when by_name.uscc is not null then 'name'
            when advert_links.uscc is not null then 'advert_linker'
        end as link_method
    from mentions
    left join by_name_region
        on
            mentions.uscc is null
            and mentions.name_key = by_name_region.name_key
            and mentions.region_code = by_name_region.region_code
    left join by_name
        on
            mentions.uscc is null
            and mentions.region_code is null
            and mentions.name_key = by_name.name_key
    left join advert_links
        on
            mentions.source = 'advert_lead'
            and mentions.record_key = advert_links.lead_id
)

select * from final
