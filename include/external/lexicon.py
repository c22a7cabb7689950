"""The finance-risk lexicon for news tone (舆情) and the illegal-fundraising promise lexicon for adverts.

Both are hand-written, documented word lists (version :data:`LEXICON_VERSION`), not models trained on
labels. Change a weight here and bump the version: ``raw_ext.news_tone`` and
``raw_ext.advert_lead_flag`` record the version that scored each row.

**News tone.** A news item's ``risk_score`` is the sum of the weights of the risk terms found in it
(each term counted once), except terms that are

* *negated*: in a sentence that also carries a denial cue (否认, 不实, 澄清, 辟谣, 从未, 不存在, ...),
  e.g. "所谓暴雷系不实信息" or "表示从未发生挤兑";
* *not about an event*: in a sentence of a generic warning or statistic (提示, 警惕, 防范, 宣传,
  数据显示, ...), e.g. "警惕以养老为名的非法集资";
* *used in another sense*: inside Chinese quotation marks (“跑路不如跑步”, “零逾期”) or part of a
  longer non-risk word (失联老人, 零逾期, 立案调解).

``tone`` is ``negative`` when ``risk_score >= NEGATIVE_THRESHOLD`` (one strong term such as 暴雷, 跑路,
挤兑, 立案侦查, 失信被执行人, or two weaker ones), ``positive`` when no risk term counts and a
positive term does, else ``neutral``.

**Advert promises.** Patterns of promises typical of illegal fundraising (Art. 2 of the 2021
regulation on preventing and disposing of illegal fundraising: promising repayment of principal,
interest or returns). *Core* promises (guaranteed principal/interest, fixed monthly interest, "cannot
lose", zero risk for an investment, a fixed annual return, monthly interest paid back) weigh 2;
*supporting* lures (high returns, withdraw any time, government backing, referral bonuses, gifts on
signing, pre-IPO shares, a minimum ticket) weigh 1 or 0.5. Patterns tolerate the usual obfuscations
(spaces between characters, homophones such as 稳赚不陪, ``x`` for 息). A lead is flagged when its
score reaches :data:`PROMO_THRESHOLD` (so a franchise advert's "高额回报 ... 投资5万元起" alone is not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LEXICON_VERSION = "2026-11-23.1"
NEGATIVE_THRESHOLD = 2.0
PROMO_THRESHOLD = 2.0

#: (term, category, weight)
RISK_TERMS: tuple[tuple[str, str, float], ...] = (
    # collapse / flight
    ("暴雷", "collapse", 3.0), ("爆雷", "collapse", 3.0), ("跑路", "collapse", 3.0), ("挤兑", "run", 3.0),
    ("失联", "collapse", 2.5), ("无法兑付", "default", 3.0), ("兑付困难", "default", 3.0),
    ("讨要本金", "collapse", 2.0), ("维权", "collapse", 2.0), ("大门紧锁", "collapse", 2.0),
    ("集中取款", "run", 2.5), ("专案组", "enforcement", 2.0),
    # enforcement / litigation
    ("立案侦查", "enforcement", 3.0), ("立案调查", "enforcement", 3.0), ("立案", "enforcement", 2.0),
    ("非法吸收公众存款", "enforcement", 3.0), ("非法集资", "enforcement", 3.0), ("涉案", "enforcement", 2.0),
    ("警方通报", "enforcement", 2.0), ("失信被执行人", "litigation", 3.0), ("被执行人", "litigation", 2.0),
    ("被起诉", "litigation", 2.0), ("起诉", "litigation", 1.5), ("冻结", "litigation", 2.0),
    ("拖欠", "default", 2.0), ("处罚", "sanction", 2.0), ("罚款", "sanction", 2.0), ("被罚", "sanction", 2.0),
    ("约谈", "sanction", 1.5), ("违法违规", "sanction", 2.0),
    # credit and solvency stress
    ("逾期", "default", 2.0), ("违约", "default", 2.0), ("不良贷款率快速攀升", "credit", 2.5),
    ("攀升", "credit", 1.0), ("承压", "credit", 1.0), ("下滑", "credit", 1.0), ("监管红线", "capital", 2.0),
    ("负面", "rating", 1.5), ("离职", "governance", 1.0), ("担忧", "sentiment", 1.0),
)
POSITIVE_TERMS: tuple[str, ...] = (
    "增长", "获评", "上调", "荣获", "入选", "成功发行", "认购倍数", "优秀", "示范", "授信", "表彰", "向好",
    "稳定", "下降", "排至", "战略合作",
)
#: A risk term in a sentence with one of these is denied.
DENIAL_CUES: tuple[str, ...] = ("否认", "不实", "澄清", "辟谣", "从未", "不存在", "并非", "谣言", "纯属", "未发生",
                                "造谣")
#: A risk term in a sentence with one of these is a generic warning or a statistic, not an event.
GENERIC_CUES: tuple[str, ...] = ("提示", "警惕", "防范", "宣传", "工作会议", "数据显示", "合理区间", "总体稳定")
#: Longer words that contain a risk term in a harmless sense.
OTHER_SENSE: tuple[str, ...] = ("失联老人", "零逾期", "立案调解", "跑路不如跑步", "不良贷款处置")

_RISK = {t: (c, w) for t, c, w in RISK_TERMS}
_RISK_RE = re.compile("|".join(re.escape(t) for t in sorted(_RISK, key=len, reverse=True)))
_SENTENCE = re.compile(r"[^。！？!?]+[。！？!?]?")
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")


@dataclass(frozen=True)
class Match:
    term: str
    category: str
    weight: float
    start: int
    negated: bool
    why: str = ""  # denial | generic | other_sense | quoted

    def as_dict(self) -> dict:
        d = {"term": self.term, "category": self.category, "weight": self.weight, "start": self.start,
             "negated": self.negated}
        return {**d, "why": self.why} if self.why else d


@dataclass(frozen=True)
class Tone:
    tone: str
    risk_score: float
    matches: tuple[Match, ...]


def _spans(pattern: re.Pattern, text: str) -> list[tuple[int, int]]:
    return [m.span() for m in pattern.finditer(text)]


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= pos < b for a, b in spans)


def score_news(text: str) -> Tone:
    """The risk tone of one news text (see the module docstring)."""
    quoted = _spans(_QUOTED, text)
    other = [(m.start(), m.end()) for w in OTHER_SENSE for m in re.finditer(re.escape(w), text)]
    matches: list[Match] = []
    counted: set[str] = set()
    for sent in _SENTENCE.finditer(text):
        s, body = sent.start(), sent.group()
        denial = any(c in body for c in DENIAL_CUES)
        generic = any(c in body for c in GENERIC_CUES)
        for m in _RISK_RE.finditer(body):  # longest term first at each position: 立案侦查, not 立案
            a = s + m.start()
            cat, w = _RISK[m.group()]
            why = ("quoted" if _inside(a, quoted) else "other_sense" if _inside(a, other)
                   else "denial" if denial else "generic" if generic else "")
            matches.append(Match(m.group(), cat, w, a, bool(why), why))
    score = 0.0
    for m in sorted(matches, key=lambda m: m.start):
        if not m.negated and m.term not in counted:
            counted.add(m.term)
            score += m.weight
    if score >= NEGATIVE_THRESHOLD:
        tone = "negative"
    elif score == 0 and any(p in text for p in POSITIVE_TERMS):
        tone = "positive"
    else:
        tone = "neutral"
    return Tone(tone, score, tuple(matches))


# ---- advert promises --------------------------------------------------------------------------------

_S = r"\s*"  # characters spaced out to dodge keyword filters

#: (name, category, weight, pattern)
PROMO_PATTERNS: tuple[tuple[str, str, float, str], ...] = (
    ("保本保息", "core", 2.0, _S.join("保本") + _S + r"(保" + _S + r"息|保" + _S + r"收益)"),
    ("稳赚不赔", "core", 2.0, r"稳" + _S + r"赚" + _S + r"不" + _S + r"[赔陪]"),
    ("固定月息", "core", 2.0, r"月" + _S + r"[息x×]" + _S + r"[0-9一二两三四五]" + _S + r"分"),
    ("每月返息", "core", 2.0, r"(每月|按月)返息"),
    ("到期还本", "core", 2.0, r"到期还本"),
    ("零风险", "core", 2.0, r"(零|无)风险(?!退换)"),
    ("固定年化收益", "core", 2.0, r"年化收益[0-9]+(\.[0-9]+)?%"),
    ("高额回报", "lure", 1.0, r"高额?回报|高收益"),
    ("随时可取", "lure", 1.0, r"随时可取|随存随取"),
    ("政府背景", "lure", 1.0, r"政府背景|国资背景|资金安全有保障"),
    ("推荐奖励", "lure", 1.0, r"推荐好友.{0,4}奖励|拉人.{0,4}奖励"),
    ("签约送礼", "lure", 1.0, r"签约即送|送米面油"),
    ("原始股", "lure", 1.0, r"原始股|上市翻倍"),
    ("投资门槛", "lure", 0.5, r"投资[0-9]+元起"),
)
_PROMO = tuple((n, c, w, re.compile(p)) for n, c, w, p in PROMO_PATTERNS)


@dataclass(frozen=True)
class PromoFlag:
    illegal: bool
    score: float
    phrases: tuple[dict, ...]  # {phrase, category, start, text}


def flag_advert(text: str) -> PromoFlag:
    """Promises typical of illegal fundraising in an advert text (see the module docstring)."""
    found = []
    score = 0.0
    for name, cat, w, pat in _PROMO:
        m = pat.search(text)
        if m:
            found.append({"phrase": name, "category": cat, "start": m.start(), "text": m.group()})
            score += w
    found.sort(key=lambda d: d["start"])
    return PromoFlag(score >= PROMO_THRESHOLD, score, tuple(found))
