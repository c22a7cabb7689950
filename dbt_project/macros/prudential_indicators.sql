{#- The prudential indicators, in one place: the wide model's columns, the long-form mart's rows and
    the threshold matching all iterate over this list. -#}
{% macro prudential_indicator_codes() %}
    {{ return([
        'total_car', 'tier1_car', 'cet1_car', 'npl_ratio', 'provision_coverage', 'loan_provision_ratio',
        'liquidity_ratio', 'lcr', 'loan_to_deposit', 'largest_single_customer_ratio', 'top10_customer_ratio',
        'real_estate_loan_share', 'mortgage_share', 'roa', 'solvency_ratio',
    ]) }}
{% endmacro %}

{#- `relation`'s indicator columns as rows (indicator_code, indicator_value); use after a from clause. -#}
{% macro unpivot_indicators(relation_alias) %}
    cross join lateral (
        values
        {%- for code in prudential_indicator_codes() %}
            ('{{ code }}', {{ relation_alias }}.{{ code }}::numeric){{ "," if not loop.last }}
        {%- endfor %}
    ) as indicator_values (indicator_code, indicator_value)
{% endmacro %}

{#- Does threshold row `t` apply to an institution of type `type_col` and size tier `tier_col`?
    institution_type is '*' (every reporter), 'bank' (the var bank_types) or one type; an empty
    size_tier applies to every tier (the real-estate caps of 银发〔2020〕322号 are per tier). -#}
{% macro threshold_applies(t, type_col, tier_col) %}
    (
        ({{ t }}.institution_type = '*'
            or {{ t }}.institution_type = {{ type_col }}
            or ({{ t }}.institution_type = 'bank' and {{ type_col }} in (
                {%- for bt in var('bank_types') %}'{{ bt }}'{{ ", " if not loop.last }}{% endfor %})))
        and ({{ t }}.size_tier is null or {{ t }}.size_tier = {{ tier_col }})
    )
{% endmacro %}

{#- Is `value` on the wrong side of threshold row `t`? Null when the value is unknown. -#}
{% macro breaches(t, value) %}
    case {{ t }}.comparator
        when 'min' then {{ value }} < {{ t }}.threshold_value
        when 'max' then {{ value }} > {{ t }}.threshold_value
    end
{% endmacro %}
