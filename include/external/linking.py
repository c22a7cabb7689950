"""Entity linking in Chinese text: firms (the registry feed) and institutions (``raw.institution``).

**Dictionary.** Each entity contributes its full name and its short names (简称) derived by rules:

* firms: ``<city><brand><business words><legal form>`` -> the brand (``菏泽清宏新材料有限公司`` -> ``清宏``)
  and brand + business words (``清宏新材料``); the city comes from the registered address; where the
  business words are not in :data:`BUSINESS_WORDS`, the first 2 and 3 characters after the city (a
  trade name 字号 has 2-3 characters);
* institutions: the name without its legal form, without a leading province and/or 中国, with the usual
  abbreviations (农村商业银行 -> 农商行, 人寿保险 -> 人寿, ...): ``浙江安宁农村商业银行股份有限公司`` ->
  ``安宁农商行``.

**Matching.** An Aho-Corasick automaton (:class:`Automaton`) finds every occurrence of every name in one
pass. Overlaps are resolved leftmost-longest (``中国鑫兴银行股份有限公司`` is one mention, not also
``鑫兴银行``). A short name of at most 3 characters counts only at the start of a clause (text start or
after punctuation), where Chinese news puts the subject, because two- and three-character brands also
occur inside ordinary words.

**Ambiguity.** A surface naming several entities (two firms sharing a brand, a brand equal to a bank's
short name) is resolved, in order, by: a candidate named unambiguously elsewhere in the same text
(``context_mention``); a candidate whose city appears in the text (``context_city``); a candidate whose
industry appears in the text (``context_industry``). Otherwise every candidate is kept, marked
``unresolved`` (the supervisor sees the ambiguity rather than a guess).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

LEGAL_FORMS = ("集团股份有限公司", "集团有限公司", "股份有限公司", "有限责任公司", "有限公司", "集团")
#: Business-scope words that follow a brand in a firm name, longest first when matching.
BUSINESS_WORDS = tuple(sorted({
    "科技", "网络科技", "信息技术", "信息科技", "电子商务", "贸易", "商贸", "国际贸易", "供应链", "供应链管理", "物流",
    "运输", "建设", "建工", "建筑", "装饰工程", "工程", "机械", "电子", "新材料", "材料", "食品", "生态农业",
    "农业科技", "农业", "种养殖", "养殖", "置业", "房地产开发", "房地产", "地产", "投资", "投资管理", "投资咨询",
    "商务咨询", "咨询", "资产管理", "财富管理", "养老服务", "健康管理", "健康", "家政服务", "家政", "文化传媒",
    "传媒", "文化", "艺术品", "收藏品", "实业", "发展", "控股", "环保", "医药", "能源", "服务", "管理", "软件",
    "制造", "机械制造", "餐饮", "餐饮管理", "百货", "市政工程", "市政", "汽车", "教育", "广告", "设计",
}, key=len, reverse=True))
PROVINCES = ("内蒙古", "黑龙江", "北京", "天津", "河北", "山西", "辽宁", "吉林", "上海", "江苏", "浙江", "安徽", "福建",
             "江西", "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "重庆", "四川", "贵州", "云南", "西藏",
             "陕西", "甘肃", "青海", "宁夏", "新疆")
ABBREVIATIONS = (("农村商业银行", "农商行"), ("农村合作银行", "农合行"), ("商业银行", "银行"), ("人寿保险", "人寿"),
                 ("财产保险", "财险"), ("金融租赁", "金租"), ("消费金融", "消金"))
_CLAUSE_START = set("，。！？；：、,.!?;:（(【[“\"」』 \n")
SHORT_MAX_WITHOUT_BOUNDARY = 3
#: Look-alike variants (one character changed) are matched for names up to this long (brands).
VARIANT_MAX_LEN = 6


@dataclass(frozen=True)
class Entity:
    entity_type: str  # firm | institution
    entity_id: str  # USCC | institution_code
    name: str
    city: str = ""
    industry: str = ""


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    surface: str
    entity: Entity
    form: str  # full | short
    ambiguous: bool
    candidates: int
    resolution: str


def city_of_address(address: str | None) -> str:
    """``浙江省杭州市人民路1号`` -> ``杭州``; ``北京市...`` -> ``北京``."""
    if not address:
        return ""
    m = re.match(r"^(?:.{2,3}?(?:省|自治区))?(.{2,4}?)市", address)
    return m.group(1) if m else ""


def _strip_legal_form(name: str) -> str:
    for form in LEGAL_FORMS:
        if name.endswith(form) and len(name) > len(form) + 1:
            return name[: -len(form)]
    return name


def firm_aliases(name: str, city: str) -> set[str]:
    """Short names of a firm (see the module docstring)."""
    base = _strip_legal_form(name)
    if city and base.startswith(city) and len(base) > len(city) + 1:
        base = base[len(city):]
    out = {base}
    for w in BUSINESS_WORDS:
        if base.endswith(w) and len(base) - len(w) >= 2:
            out.add(base[: -len(w)])
            break
    # 企业名称 = 行政区划 + 字号 + 行业 + 组织形式: the trade name (字号) is the 2 or 3 characters after
    # the region, even when the business words are not in the list above
    if len(base) > 3:
        out.update({base[:2], base[:3]})
    return {a for a in out if len(a) >= 2 and a != name}


def institution_aliases(name: str) -> set[str]:
    """Short names of a financial institution (see the module docstring)."""
    base = _strip_legal_form(name)
    variants = {base}
    for p in PROVINCES:
        if base.startswith(p) and len(base) > len(p) + 2:
            variants.add(base[len(p):])
    if base.startswith("中国") and len(base) > 4:
        variants.add(base[2:])
    out = set(variants)
    for v in variants:
        short = v
        for a, b in ABBREVIATIONS:
            short = short.replace(a, b)
        out.add(short)
    return {a for a in out if len(a) >= 3 and a != name}


class Automaton:
    """Aho-Corasick over ``patterns``: :meth:`find` yields (start, end, pattern) of every occurrence."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.goto: list[dict[str, int]] = [{}]
        self.fail: list[int] = [0]
        self.out: list[list[str]] = [[]]
        for p in set(patterns):
            if p:
                self._add(p)
        self._build()

    def _add(self, p: str) -> None:
        s = 0
        for ch in p:
            nxt = self.goto[s].get(ch)
            if nxt is None:
                nxt = len(self.goto)
                self.goto[s][ch] = nxt
                self.goto.append({})
                self.fail.append(0)
                self.out.append([])
            s = nxt
        self.out[s].append(p)

    def _build(self) -> None:
        q = deque(self.goto[0].values())
        while q:
            s = q.popleft()
            for ch, t in self.goto[s].items():
                q.append(t)
                f = self.fail[s]
                while f and ch not in self.goto[f]:
                    f = self.fail[f]
                self.fail[t] = self.goto[f].get(ch, 0) if self.goto[f].get(ch, 0) != t else 0
                self.out[t] = self.out[t] + self.out[self.fail[t]]

    def find(self, text: str) -> list[tuple[int, int, str]]:
        s, hits = 0, []
        for i, ch in enumerate(text):
            while s and ch not in self.goto[s]:
                s = self.fail[s]
            s = self.goto[s].get(ch, 0)
            for p in self.out[s]:
                hits.append((i + 1 - len(p), i + 1, p))
        return hits


@dataclass
class EntityLinker:
    """Build once per run from the known entities; :meth:`link` one text at a time."""

    entities: list[Entity]
    surfaces: dict[str, list[tuple[Entity, str]]] = field(default_factory=dict)  # surface -> (entity, form)
    automaton: Automaton | None = None
    _wildcards: dict[str, list[tuple[Entity, str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for e in self.entities:
            self._add(e.name, e, "full")
            aliases = firm_aliases(e.name, e.city) if e.entity_type == "firm" else institution_aliases(e.name)
            for a in aliases:
                self._add(a, e, "short")
        self.automaton = Automaton(self.surfaces)
        for surface, cands in self.surfaces.items():
            if len(surface) > VARIANT_MAX_LEN:
                continue
            for i in range(len(surface)):
                self._wildcards.setdefault(surface[:i] + "\0" + surface[i + 1:], []).extend(cands)

    def _add(self, surface: str, e: Entity, form: str) -> None:
        lst = self.surfaces.setdefault(surface, [])
        if all(x.entity_id != e.entity_id or x.entity_type != e.entity_type for x, _ in lst):
            lst.append((e, form))

    def candidates(self, surface: str) -> list[tuple[Entity, str]]:
        return self.surfaces.get(surface, [])

    def candidates_with_one_change(self, surface: str, i: int) -> list[tuple[Entity, str]]:
        """Entities with a name equal to ``surface`` except at character ``i`` (a look-alike variant)."""
        return self._wildcards.get(surface[:i] + "\0" + surface[i + 1:], [])

    def link(self, text: str) -> list[Mention]:
        hits = []
        for start, end, surface in self.automaton.find(text):
            if end - start <= SHORT_MAX_WITHOUT_BOUNDARY and all(f == "short" for _, f in self.surfaces[surface]) \
                    and start > 0 and text[start - 1] not in _CLAUSE_START:
                continue
            hits.append((start, end, surface))
        hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
        chosen, last_end = [], -1
        for h in hits:  # leftmost-longest, no overlaps
            if h[0] >= last_end:
                chosen.append(h)
                last_end = h[1]
        sure = {self.surfaces[s][0][0].entity_id for _, _, s in chosen if len(self.surfaces[s]) == 1}
        out = []
        for start, end, surface in chosen:
            cands = self.surfaces[surface]
            if len(cands) == 1:
                e, form = cands[0]
                out.append(Mention(start, end, surface, e, form, False, 1, "unique"))
                continue
            picked, how = self._resolve(text, cands, sure)
            for e, form in picked:
                out.append(Mention(start, end, surface, e, form, True, len(cands), how))
        return out

    @staticmethod
    def _resolve(text: str, cands: list[tuple[Entity, str]], sure: set[str]):
        for how, test in (("context_mention", lambda e: e.entity_id in sure),
                          ("context_city", lambda e: bool(e.city) and e.city in text),
                          ("context_industry", lambda e: bool(e.industry) and e.industry in text)):
            hit = [c for c in cands if test(c[0])]
            if len(hit) == 1:
                return hit, how
        return cands, "unresolved"
