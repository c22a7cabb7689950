"""News and advert signals: entity linking on tricky text, the risk lexicon, advert flags, and the
signal tables derived from feeds loaded over HTTP."""

from __future__ import annotations

import pytest

from include.external.lexicon import flag_advert, score_news
from include.external.linking import Automaton, Entity, EntityLinker, firm_aliases, institution_aliases
from include.external.signals import link_advertiser

FIRM_A = Entity("firm", "91330100MA0000001A", "杭州恒清种养殖有限公司", "杭州", "农")
FIRM_B = Entity("firm", "91440300MA0000002B", "深圳恒清网络科技有限公司", "深圳", "信息传输")  # same brand 恒清
FIRM_C = Entity("firm", "91110100MA0000003C", "北京安宁贸易有限公司", "北京", "批发和零售业")
BANK = Entity("institution", "B0001", "浙江安宁农村商业银行股份有限公司")
BIG = Entity("institution", "B0002", "中国鑫兴银行股份有限公司")


@pytest.fixture(scope="module")
def linker():
    return EntityLinker([FIRM_A, FIRM_B, FIRM_C, BANK, BIG])


def linked(linker, text):
    return [(m.surface, m.entity.entity_id, m.resolution) for m in linker.link(text)]


def test_aho_corasick_finds_overlapping_and_nested_patterns():
    hits = Automaton(["he", "she", "his", "hers"]).find("ushers")
    assert sorted(hits) == [(1, 4, "she"), (2, 4, "he"), (2, 6, "hers")]
    assert sorted(Automaton(["安宁", "安宁农商行", "农商"]).find("安宁农商行")) == [
        (0, 2, "安宁"), (0, 5, "安宁农商行"), (2, 4, "农商")]


def test_short_names_are_derived_from_full_names():
    assert {"恒清种养殖", "恒清"} <= firm_aliases("杭州恒清种养殖有限公司", "杭州")
    assert "宙锦" in firm_aliases("邢台宙锦软件外包有限公司", "邢台")  # trade name without a known business word
    assert {"安宁农商行", "安宁农村商业银行"} <= institution_aliases("浙江安宁农村商业银行股份有限公司")
    assert "鑫兴银行" in institution_aliases("中国鑫兴银行股份有限公司")


def test_longest_name_wins_over_the_short_name_inside_it(linker):
    full = "中国鑫兴银行股份有限公司"
    assert linked(linker, f"近日，{full}发布公告。") == [(full, "B0002", "unique")]
    assert linked(linker, "安宁农商行多个网点出现储户集中取款。") == [("安宁农商行", "B0001", "unique")]


def test_ambiguous_short_name_is_resolved_by_city_or_another_mention(linker):
    assert linked(linker, "恒清在深圳新设分公司。") == [("恒清", FIRM_B.entity_id, "context_city")]
    text = "杭州恒清种养殖有限公司发布声明。恒清表示经营正常。"
    assert linked(linker, text) == [("杭州恒清种养殖有限公司", FIRM_A.entity_id, "unique"),
                                    ("恒清", FIRM_A.entity_id, "context_mention")]
    both = linked(linker, "恒清发布招聘信息。")
    assert {e for _, e, _ in both} == {FIRM_A.entity_id, FIRM_B.entity_id} and {r for *_, r in both} == {"unresolved"}


def test_two_character_brand_inside_a_word_is_not_a_mention(linker):
    assert linked(linker, "市民在永安宁静公园散步。") == []  # 安宁 not at a clause start
    assert linked(linker, "近日，安宁回应称经营正常。") == [("安宁", FIRM_C.entity_id, "unique")]


def test_risk_terms_make_news_negative():
    t = score_news("恒清暴雷，涉及杭州等地投资者约300人，公安机关已立案侦查。")
    assert t.tone == "negative" and t.risk_score >= 6
    assert {m.term for m in t.matches} == {"暴雷", "立案侦查"}  # 立案 inside 立案侦查 counted once


@pytest.mark.parametrize("text", [
    "恒清回应称，所谓暴雷系不实信息，公司各项业务正常开展，不存在逾期兑付情况。",
    "针对网传的跑路传闻，恒清发布声明予以否认。",
    "恒清表示从未发生挤兑，近日网点排队系办理纪念币预约兑换。",
    "恒清荣获“零逾期”诚信企业称号。",
    "恒清举办“跑路不如跑步”全民健身马拉松。",
    "杭州金融监管部门提示：警惕以养老为名的非法集资。",
])
def test_denied_quoted_generic_or_other_sense_risk_words_do_not_count(text):
    t = score_news(text)
    assert t.tone != "negative" and t.risk_score == 0 and all(m.negated for m in t.matches)


def test_denial_in_one_sentence_does_not_hide_risk_in_the_next():
    t = score_news("恒清否认失联传闻。但投资者称返息已逾期三个月，公司账户已被冻结。")
    assert t.tone == "negative" and {m.term for m in t.matches if not m.negated} == {"逾期", "冻结"}


@pytest.mark.parametrize("text,illegal", [
    ("恒清内部理财，保 本 保 息，推荐好友再奖励5%，签约即送米面油，限时开放。", True),
    ("加入恒清会员，稳赚不陪，年化收益18%。", True),
    ("恒清：月x2分！随时可取。", True),
    ("加盟恒清，总部扶持，高额回报看得见，单店投资50000元起。", False),  # franchise, no guarantee
    ("恒清年终清仓，零风险退换，七天无理由。", False),  # retail sense of 零风险
    ("安宁农商行大额存单，3年期利率2.15%，本息受存款保险保护。", False),
])
def test_advert_promises(text, illegal):
    f = flag_advert(text)
    assert f.illegal is illegal
    if illegal:
        assert f.phrases and all(p["text"] in text for p in f.phrases)


def test_advertiser_linking_forms(linker):
    assert link_advertiser(linker, "北京安宁贸易有限公司", "")[0] == FIRM_C
    assert link_advertiser(linker, "安宁财富", "安宁财富：保本保息！") == (FIRM_C, "name_with_suffix")
    assert link_advertiser(linker, "按宁", "按宁内部理财") == (FIRM_C, "variant")  # one look-alike character
    assert link_advertiser(linker, "恒清", "【恒清】深圳养老项目火热认购中！") == (FIRM_B, "exact_short+city")
    assert link_advertiser(linker, "王经理", "【安宁】内部理财，月息2分。") == (FIRM_C, "text_mention")
    assert link_advertiser(linker, "泽川金服", "泽川金服内部理财") == (None, None)
