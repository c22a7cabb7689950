{{ config(post_hook="{{ apply_bureau_rls('bureau_codes', is_array=true) }}") }}
-- Guarantee circles (A guarantees B, B guarantees C, ... back to A) and chains (A -> B -> C ... with
-- no way back), found with recursive SQL over the firm guarantee graph, each with its members, the
-- total amount guaranteed inside it, its lenders and the members in arrears anywhere.
-- Paths are explored up to var('guarantee_max_depth') firms.
with recursive

edges as (
    select
        guarantor_uscc,
        borrower_uscc,
        sum(guarantee_amount) as guarantee_amount,
        array_agg(distinct institution_code) as lenders
    from {{ ref('int_networks__guarantee_edges') }}
    group by guarantor_uscc, borrower_uscc
),

exposure as (
    select * from {{ ref('int_networks__firm_exposure') }}
),

institutions as (
    select * from {{ ref('int_entities__institutions') }}
),

walk (start_uscc, node_uscc, path) as (
    select
        guarantor_uscc,
        borrower_uscc,
        array[guarantor_uscc, borrower_uscc]
    from edges
    union all
    select
        walk.start_uscc,
        edges.borrower_uscc,
        walk.path || edges.borrower_uscc
    from walk
    inner join edges on walk.node_uscc = edges.guarantor_uscc
    where
        walk.node_uscc <> walk.start_uscc
        and not edges.borrower_uscc = any(walk.path[2:])
        and cardinality(walk.path) < {{ var('guarantee_max_depth') }}
),

circles as (
    select distinct
        'circle' as network_type,
        (select array_agg(m order by m) from unnest(path[1:cardinality(path) - 1]) as m) as members,
        path[1:cardinality(path) - 1] as example_path
    from walk
    where
        node_uscc = start_uscc
        and path[1] = (select min(m) from unnest(path) as m)
),

chains as (
    select distinct
        'chain' as network_type,
        (select array_agg(m order by m) from unnest(path) as m) as members,
        path as example_path
    from walk
    where
        node_uscc <> start_uscc
        and cardinality(path) >= 3
        and not exists (
            select 1 from edges
            where edges.borrower_uscc = walk.start_uscc
        )
        and not exists (
            select 1 from edges
            where edges.guarantor_uscc = walk.node_uscc
        )
),

networks as (
    select * from circles
    union all
    select * from chains
),

measured as (
    select
        md5(networks.network_type || array_to_string(networks.members, ',')) as network_id,
        networks.network_type,
        networks.members,
        networks.example_path,
        cardinality(networks.members) as member_count,
        (
            select sum(edges.guarantee_amount)
            from edges
            where
                edges.guarantor_uscc = any(networks.members)
                and edges.borrower_uscc = any(networks.members)
        ) as total_guaranteed_amount,
        (
            select array_agg(distinct lender order by lender)
            from edges
            cross join unnest(edges.lenders) as lender
            where
                edges.guarantor_uscc = any(networks.members)
                and edges.borrower_uscc = any(networks.members)
        ) as lender_codes,
        (
            select array_agg(exposure.firm_uscc order by exposure.firm_uscc)
            from exposure
            where
                exposure.firm_uscc = any(networks.members)
                and exposure.overdue_anywhere
        ) as members_in_arrears
    from networks
),

final as (
    select
        measured.network_id,
        measured.network_type,
        measured.members,
        measured.example_path,
        measured.member_count,
        measured.total_guaranteed_amount,
        measured.lender_codes,
        coalesce(measured.members_in_arrears, '{}') as members_in_arrears,
        coalesce(cardinality(measured.members_in_arrears), 0) as members_in_arrears_count,
        (
            select array_agg(distinct institutions.bureau_code order by institutions.bureau_code)
            from institutions
            where institutions.institution_code = any(measured.lender_codes)
        ) as bureau_codes
    from measured
)

select * from final
