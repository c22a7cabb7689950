{#- Whole calendar months from `earlier` to `later` (dates): 0 for the same month, 1 for the next month,
    whatever the day. Trailing windows of flow features are written with it ("month_gap(a, b) between 0
    and n - 1" is the n calendar months ending with a's month), never with interval arithmetic on
    month-end dates, where 2026-04-30 minus 3 months is 2026-01-30 and still inside January. -#}
{% macro month_gap(later, earlier) -%}
    (
        (extract(year from {{ later }})::int - extract(year from {{ earlier }})::int) * 12
        + extract(month from {{ later }})::int - extract(month from {{ earlier }})::int
    )
{%- endmacro %}

{#- A peer percentile (0-1) as rarity on a log scale: -ln(1 - pr) / ln(10^4), capped to [0, 1]:
    0.25 at the 90th percentile, 0.5 at the 99th, 0.75 at the 99.9th, 1 at the top. -#}
{% macro rarity(pr) -%}
least(1.0, greatest(0.0, -ln(1.0001 - {{ pr }}) / ln(10000.0)))
{%- endmacro %}

{#- A calendar month as one integer (year * 12 + month), for equi-joins on "n months later" (month_gap of two
    such numbers is their difference). -#}
{% macro month_index(d) -%}
    (extract(year from {{ d }})::int * 12 + extract(month from {{ d }})::int)
{%- endmacro %}
