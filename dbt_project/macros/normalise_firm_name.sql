{#- The name key used when a record has no USCC (documented fallback of firm resolution): full-width
    brackets and spaces removed, the company-form suffix dropped, so 「宁波华融科技有限公司」,
    「宁波华融科技（有限公司）」 and 「宁波华融科技有限责任公司」 share one key. -#}
{% macro normalise_firm_name(name) %}
    nullif(regexp_replace(
        regexp_replace(translate(coalesce({{ name }}, ''), '（）() 　', ''),
            '(股份有限公司|有限责任公司|有限公司|集团)$', ''),
        '\s', '', 'g'), '')
{% endmacro %}
