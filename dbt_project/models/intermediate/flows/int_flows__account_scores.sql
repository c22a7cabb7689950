{{ config(
    materialized='incremental',
    unique_key=['period'],
    incremental_strategy='period_delete_insert',
    on_schema_change='append_new_columns',
    post_hook=[
        "{{ ensure_index(this, 'source_batch_id') }}", "{{ ensure_index(this, 'period') }}", "analyze {{ this }} (period)",
    ],
) }}
-- Scored flow typologies per account-month (#12). Every signal of int_flows__account_windows becomes a
-- percentile within the account's peer group (same month, institution type, holder type), so nothing
-- depends on currency units or on how busy an institution's accounts are; a typology's score is the
-- weighted mean of its signals' rarities (macro rarity: 0 at the median, 0.5 at the 99th percentile, 1 at
-- the top; weights var('flow_weights'), normalised), so being extreme on a few signals outweighs being
-- a little unusual on many (typologies in var('flow_geometric_typologies') take the weighted geometric
-- mean instead: every signal must be rare, as a mule is only a mule if it both forwards and is fed by
-- a collector); the
-- account-month's flow score is its best typology. Signals that hide a scheme by amount (odd amounts, a
-- small share of a busy account) are counted, not summed: distinct payers, new payers, shares of payers.
-- upstream_payers is the 2-hop fan-in: the most payers any of this month's payers had in its own window (money
-- collected from many and forwarded through this account). new_conduit_payers is the other 2-hop signal: payers
-- that were themselves pass-through accounts for this account (laundering fan-in), with conduit_share and
-- new_payer_share (a utility's or landlord's payers pay every month) as its shares; new_conduit_payers also counts
-- fresh sources (payers first seen the month they paid it, funded from outside the data) that paid at least the
-- month's median inflow, where there are several (int_flows__account_windows). new_account_payers (the
-- payers of an account new to the data) is evidence only: as a typology it found outside collectors but flooded the
-- simulator's queue with new accounts (bench/README.md, 7 Dec). inflow_burstiness and
-- peak_day_ratio (int_flows__account_inflow_timing: when in the month the inflows arrived) are evidence with a
-- peer percentile (pr_inflow_burstiness), not weighed into any typology: their effect on recall is not measured.
-- payer_surge (int_flows__account_windows: the month's payers against the window's earlier months) ranks a
-- sudden crowd of payers on the account's own history, not only on its peers'.
-- new_payer_share counts only payers known to be new (known_new_payers: first paid the account after its
-- institution's first month in the data).
-- Incremental by period: a month's percentiles compare the accounts of that month only, and its 2-hop
-- fan-in reads that month's windows, so a build recomputes whole months from the first month with
-- counterparty-month rows newer than the last build (the months int_flows__account_windows recomputes)
-- and leaves earlier months alone.
-- The post-hooks: an index on source_batch_id (its stored watermark, read by the next build's first_new_period,
-- without a scan of the table: macro ensure_index), and fresh statistics of `period` (0.13-0.17 s on `small` with 4x
-- history: a 30,000-row sample of that column; the whole table's 1.6-3.1 s). account_month_training reads this table
-- with `period >= <literal>` right after it is built, while autovacuum analyzes it only once a tenth of its rows
-- changed (a year of months at 4x) and may come late after a large catch-up: with the histogram of the 1x state the
-- planner took the rebuilt months for 1,629 rows (1,076,505 read, hist13's catch-up build); the 78 s
-- account_month_training of hist12 is thought to be such a plan (bench/README.md, hist12 and hist13).
{#- sqlfluff's templater has no dbt vars (var() is a stand-in there): lint with a one-signal stand-in -#}
{%- set weights = var('flow_weights') if var('flow_weights') is mapping else {'collection': {'payers': 1}} %}
{%- set geometric = var('flow_geometric_typologies') if var('flow_weights') is mapping else [] %}
{%- set signals_ranked = ['payers', 'new_payers', 'individual_share', 'elderly_share', 'keyword_share', 'round_share',
    'inflow_dispersion', 'outflow_concentration', 'pass_through', 'periodic_repaid_payers', 'periodic_payees',
    'payout_keyword_share', 'elsewhere_share', 'upstream_payers', 'large_payers', 'large_individual_payers',
    'new_conduit_payers', 'conduit_share', 'new_payer_share', 'payer_surge'] %}
with

{% if is_incremental() %}
{{ first_new_period_cte(ref('int_flows__counterparty_months')) }}
{% endif %}

windows as (
    select * from {{ ref('int_flows__account_windows') }}
    {% if is_incremental() %}
    where period >= (select first_new_period.period from first_new_period)
    {% endif %}
),

pairs as (
    select * from {{ ref('int_flows__counterparty_months') }}
    {% if is_incremental() %}
    where period >= (select first_new_period.period from first_new_period)
    {% endif %}
),

timing as (
    select * from {{ ref('int_flows__account_inflow_timing') }}
    {% if is_incremental() %}
    where period >= (select first_new_period.period from first_new_period)
    {% endif %}
),

accounts as (
    select * from {{ ref('int_entities__accounts_latest') }}
),

institutions as (
    select * from {{ ref('int_entities__institutions') }}
),

upstream as (
    select
        pairs.institution_code,
        pairs.account_no,
        pairs.period,
        max(payer_windows.payers) as upstream_payers
    from pairs
    inner join windows as payer_windows
        on
            pairs.counterparty_institution_code = payer_windows.institution_code
            and pairs.counterparty_account = payer_windows.account_no
            and pairs.period = payer_windows.period
    where pairs.n_in > 0
    group by pairs.institution_code, pairs.account_no, pairs.period
),

signals as (
    select
        windows.*,
        coalesce(institutions.institution_type, 'unknown') as peer_institution_type,
        coalesce(accounts.customer_type, 'unknown') as peer_holder_type,
        institutions.bureau_code,
        coalesce(upstream.upstream_payers, 0) as upstream_payers,
        timing.inflow_burstiness,
        timing.peak_day_ratio,
        windows.individual_payers::numeric / nullif(windows.payers, 0) as individual_share,
        windows.elderly_payers::numeric / nullif(windows.payers, 0) as elderly_share,
        windows.elsewhere_payers::numeric / nullif(windows.payers, 0) as elsewhere_share,
        windows.new_conduit_payers::numeric / nullif(windows.payers, 0) as conduit_share,
        -- payers known to be new (not those of the institution's first month, where every payer is "new": in the
        -- window's first months that tied every account at a share of 1, so the signal weighed nothing there)
        windows.known_new_payers::numeric / nullif(windows.payers, 0) as new_payer_share,
        windows.round_inflow_count::numeric / nullif(windows.inflow_count, 0) as round_share,
        windows.keyword_inflow_count::numeric / nullif(windows.inflow_count, 0) as keyword_share,
        windows.payout_keyword_count::numeric / nullif(windows.outflow_count, 0) as payout_keyword_share,
        1 - windows.inflow_hhi_count as inflow_dispersion,
        coalesce(windows.outflow_hhi_amount, 0) as outflow_concentration,
        coalesce(windows.pass_through_share, 0) as pass_through
    from windows
    left join accounts
        on
            windows.institution_code = accounts.institution_code
            and windows.account_no = accounts.account_no
    left join institutions on windows.institution_code = institutions.institution_code
    left join upstream
        on
            windows.institution_code = upstream.institution_code
            and windows.account_no = upstream.account_no
            and windows.period = upstream.period
    left join timing
        on
            windows.institution_code = timing.institution_code
            and windows.account_no = timing.account_no
            and windows.period = timing.period
),

-- ~20 sorts of the month's accounts, one per signal: on the keys and signals only, not on the wide rows (example
-- transaction arrays and every window column), then joined back.
ranked as (
    select
        narrow.institution_code,
        narrow.account_no,
        narrow.period,
        {% for s in signals_ranked %}
        percent_rank() over (peers order by coalesce(narrow.{{ s }}, 0)) as pr_{{ s }},
        {% endfor %}
        -- evidence only (not weighed): undefined burstiness (fewer than 3 inflows) ranks lowest
        percent_rank() over (peers order by coalesce(narrow.inflow_burstiness, -1)) as pr_inflow_burstiness
    from (
        select
            institution_code,
            account_no,
            period,
            peer_institution_type,
            peer_holder_type,
            {% for s in signals_ranked %}
            {{ s }},
            {% endfor %}
            inflow_burstiness
        from signals
    ) as narrow
    window peers as (partition by narrow.period, narrow.peer_institution_type, narrow.peer_holder_type)
),

percentiles as (
    select
        {% for s in signals_ranked %}
        ranked.pr_{{ s }},
        {% endfor %}
        ranked.pr_inflow_burstiness,
        signals.*
    from signals
    inner join ranked
        on
            signals.institution_code = ranked.institution_code
            and signals.account_no = ranked.account_no
            and signals.period = ranked.period
),

typologies as (
    select
        {% for typology, ws in weights.items() %}
        {% if typology in geometric %}
        exp(
            (0{% for s, wt in ws.items() %} + {{ wt }} * ln(0.001 + {{ rarity('percentiles.pr_' ~ s) }}){% endfor %})
            / {{ ws.values() | sum }}
        ) as score_{{ typology }},
        {% else %}
        (0{% for s, wt in ws.items() %} + {{ wt }} * {{ rarity('percentiles.pr_' ~ s) }}{% endfor %})
        / {{ ws.values() | sum }} as score_{{ typology }},
        {% endif %}
        {% endfor %}
        percentiles.*
    from percentiles
    -- a fence: without it PostgreSQL inlines each score's expression wherever final names it (~50 times in the
    -- greatest() and the case), so every rarity and logarithm was computed again and again per row
    offset 0  -- noqa: AM09
),

final as (
    select
        typologies.*,
        greatest({% for typology in weights %}typologies.score_{{ typology }}{{ ', ' if not loop.last }}{% endfor %})
            as flow_score,
        case
            {%- for typology in weights %}
            when typologies.score_{{ typology }} = greatest(
                {%- for t in weights %}typologies.score_{{ t }}{{ ', ' if not loop.last }}{% endfor -%}
            ) then '{{ typology }}'
            {%- endfor %}
        end as top_typology,
        typologies.payers >= {{ var('flow_min_alert_payers') }}
        or typologies.upstream_payers >= {{ var('flow_min_alert_payers') }} as is_eligible
    from typologies
)

select * from final
