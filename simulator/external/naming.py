"""How the feeds name things: cities, the press's short names of institutions, penalty authorities,
masked resident IDs, and filling a text template while recording where each entity is mentioned."""

from __future__ import annotations

import re

from simulator import geography

_SLOT = re.compile(r"\{(\w+)\}")
_PROVINCE_NAMES = tuple(p.name for p in geography.PROVINCES)
_CITY = {c: n for p in geography.PROVINCES for c, n in p.cities}
PROVINCE_NAME = {p.code: p.name for p in geography.PROVINCES}
_BUREAU_NAME = dict(zip(geography.bureaus()["bureau_code"], geography.bureaus()["name"], strict=True))


def city_of(region_code: str) -> str:
    rc = str(region_code)
    return _CITY.get(rc[:4] + "00") or PROVINCE_NAME.get(rc[:2] + "0000") or "本地"


def institution_short_name(name: str, itype: str) -> str:
    """The name the press uses: ``浙江安宁农村商业银行股份有限公司`` -> ``安宁农商行``."""
    base = name
    for suffix in ("股份有限公司", "有限责任公司", "有限公司"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    if itype in ("rural_commercial_bank", "village_bank", "trust"):
        for p in _PROVINCE_NAMES:
            if base.startswith(p) and len(base) > len(p) + 2:
                base = base[len(p):]
                break
    if itype == "large_state_bank" and base.startswith("中国"):
        base = base[2:]
    replacements = {"农村商业银行": "农商行", "人寿保险": "人寿", "财产保险": "财险", "金融租赁": "金租",
                    "消费金融": "消金"}
    for a, b in replacements.items():
        base = base.replace(a, b)
    return base


def authority_name(bureau_code: str) -> str:
    if bureau_code == geography.HQ_BUREAU_CODE:
        return geography.HQ_BUREAU_NAME
    return f"{geography.HQ_BUREAU_NAME}{_BUREAU_NAME.get(bureau_code, f'{bureau_code}监管局')}"


def mask_resident_id(rid: str) -> str:
    return f"{rid[:6]}********{rid[-4:]}"


def render(template: str, values: dict[str, str], entities: dict[str, tuple]) -> tuple[str, list[dict]]:
    """Fill ``{slot}``s; entity slots (``entities[slot] = (type, id, surface, form)``) are recorded with
    their character offsets in the result."""
    out: list[str] = []
    pos = 0
    mentions = []
    last = 0
    for m in _SLOT.finditer(template):
        lit = template[last:m.start()]
        out.append(lit)
        pos += len(lit)
        slot = m.group(1)
        if slot in entities:
            etype, eid, surface, form = entities[slot]
            mentions.append({"entity_type": etype, "entity_id": eid, "surface": surface, "start": pos,
                             "end": pos + len(surface), "form": form})
            val = surface
        else:
            val = str(values[slot])
        out.append(val)
        pos += len(val)
        last = m.end()
    out.append(template[last:])
    return "".join(out), mentions
