"""Chinese name material for persons and firms, and vectorised name builders.

Everything is fictitious: surnames and given-name characters are common ones, firm brands are two (or
three) syllables drawn from a pool of auspicious characters, so "the same brand" is how a news item or
a court record would refer to a firm (its short name).
"""

from __future__ import annotations

import numpy as np

# Common surnames with rough relative frequencies (top of the national list).
SURNAMES = (
    ("王", 7.3), ("李", 7.2), ("张", 6.8), ("刘", 5.4), ("陈", 4.6), ("杨", 3.1), ("黄", 2.4), ("赵", 2.3),
    ("吴", 2.0), ("周", 1.9), ("徐", 1.5), ("孙", 1.5), ("马", 1.4), ("朱", 1.3), ("胡", 1.3), ("郭", 1.2),
    ("何", 1.1), ("林", 1.1), ("高", 1.1), ("罗", 1.0), ("郑", 1.0), ("梁", 0.9), ("谢", 0.8), ("宋", 0.8),
    ("唐", 0.8), ("许", 0.7), ("邓", 0.7), ("冯", 0.7), ("韩", 0.7), ("曹", 0.7), ("曾", 0.6), ("彭", 0.6),
    ("萧", 0.6), ("蔡", 0.5), ("潘", 0.5), ("田", 0.5), ("董", 0.5), ("袁", 0.5), ("于", 0.5), ("余", 0.5),
    ("叶", 0.5), ("蒋", 0.5), ("杜", 0.5), ("苏", 0.5), ("魏", 0.5), ("程", 0.5), ("吕", 0.5), ("丁", 0.4),
    ("沈", 0.4), ("任", 0.4), ("姚", 0.4), ("卢", 0.4), ("钟", 0.4), ("姜", 0.4), ("崔", 0.4), ("谭", 0.4),
    ("陆", 0.4), ("范", 0.3), ("汪", 0.3), ("廖", 0.3), ("石", 0.3), ("金", 0.3), ("韦", 0.3), ("贾", 0.3),
    ("夏", 0.3), ("付", 0.3), ("方", 0.3), ("邹", 0.3), ("熊", 0.3), ("白", 0.3), ("孟", 0.3), ("秦", 0.3),
    ("欧阳", 0.05), ("司马", 0.02), ("诸葛", 0.01),
)
GIVEN_CHARS = tuple(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅鹏飞斌辉建国志文斌宇浩然欣怡子涵梓轩"
    "晨阳俊杰佳琪雨桐思远婷雪琳海燕春秋立新振宏德福长青永庆淑珍凤兰秀英桂芝玉珍翠花素芬金凤"
)
#: Brand syllables for firm names (short names are 2-3 of these).
BRAND_CHARS = tuple(
    "安宁平阳丰泰兴和永长清新华德庆昌乐瑞祥福康盛鑫泽汇通达信诚元恒博嘉隆金鼎锦融裕开远海江川宏"
    "中天宇宙星辰光明正大仁义礼智谷峰林森源泉润泓晟昊煜琨瑜璟钧铭锐腾飞翔鹏凯旭东南西北龙凤麒麟"
)


def _join(*parts: np.ndarray) -> np.ndarray:
    out = parts[0].astype(object)
    for p in parts[1:]:
        out = out + p.astype(object)
    return out


def person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` person names: a surname and one or two given-name characters (object array of str)."""
    sn = np.array([s for s, _ in SURNAMES], dtype=object)
    w = np.array([f for _, f in SURNAMES])
    surname = sn[rng.choice(len(sn), size=n, p=w / w.sum())]
    g = np.array(GIVEN_CHARS, dtype=object)
    first = g[rng.integers(len(g), size=n)]
    second = g[rng.integers(len(g), size=n)]
    two = rng.random(n) < 0.7
    return _join(surname, first, np.where(two, second, ""))


def unique_brands(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct brands: two syllables where possible, three for the rest (object array)."""
    b = np.array(BRAND_CHARS, dtype=object)
    out = _join(b[rng.integers(len(b), size=n)], b[rng.integers(len(b), size=n)])
    for length in (2, 3, 3, 3, 4, 4, 4, 4):
        dup = _duplicated(out) | (np.array([len(set(x)) for x in out]) < 2)
        if not dup.any():
            return out
        k = int(dup.sum())
        parts = [b[rng.integers(len(b), size=k)] for _ in range(length)]
        out[dup] = _join(*parts)
    if _duplicated(out).any():  # pragma: no cover - astronomically unlikely with 4-syllable brands
        raise RuntimeError("could not make unique firm brands")
    return out


def _duplicated(values: np.ndarray) -> np.ndarray:
    """True for the second and later occurrence of a value."""
    _, first = np.unique(values.astype(str), return_index=True)
    mask = np.ones(len(values), dtype=bool)
    mask[first] = False
    return mask
