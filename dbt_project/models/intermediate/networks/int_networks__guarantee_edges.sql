{{ config(pre_hook="set local enable_nestloop = off") }}
-- Guarantee edges between firms (guarantor -> borrower) from each institution's latest guarantee
-- snapshot, with the guaranteed loan's lender and status. Individual guarantors are not firms and are
-- left out of the firm network.
-- Nested loops off for this statement (set local: the build's transaction only): PostgreSQL estimated
-- the latest snapshot's firm guarantees at 1 row and left-joined the loans in a nested loop, reading
-- every loan row again for each guarantee: 1,474 s on `medium` (2,272 rows) in a build that is rebuilt
-- every month; with a hash join 1.5 s, the same rows.
-- The latest guarantee snapshots' (institution, period) pairs from the ledger (macro latest_snapshot_pairs): only
-- those periods of guarantees and of the loans they are joined to are read (a loan joins on its period), not the
-- whole history's (hist15, bench/README.md).
{%- set pairs = latest_snapshot_pairs('guarantee') %}
with

guarantees as (
    select * from {{ ref('stg_submissions__guarantees') }}
),

loans as (
    select * from {{ ref('stg_submissions__loans') }}
    {%- if pairs is not none %}
    where {{ new_batch_period_filter(pairs) }}
    {%- endif %}
),

current_guarantees as (
    {{ latest_snapshot('guarantees', pairs) }}
),

final as (
    select
        guarantees.institution_code,
        guarantees.report_period as period,
        guarantees.guarantee_id,
        guarantees.loan_id,
        guarantees.guarantor_uscc,
        guarantees.borrower_uscc,
        guarantees.guarantee_amount,
        loans.balance as loan_balance,
        loans.overdue_days as loan_overdue_days
    from current_guarantees as guarantees
    left join loans
        on
            guarantees.institution_code = loans.institution_code
            and guarantees.report_period = loans.report_period
            and guarantees.loan_id = loans.loan_id
    where
        guarantees.guarantor_type = '企业'
        and guarantees.guarantor_uscc is not null
        and guarantees.guarantor_uscc <> guarantees.borrower_uscc
)

select * from final
