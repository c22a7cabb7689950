"""Static geography: provinces, their prefecture-level cities (GB/T 2260 codes) and the supervising
bureaus (national headquarters + one provincial bureau per province).

Province and city codes are real GB/T 2260 codes. County-level codes the simulator derives from a
city code (``city[:4] + two digits``) are plausible but not guaranteed to exist.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

HQ_BUREAU_CODE = "HQ"
HQ_BUREAU_NAME = "国家金融监督管理总局"
HQ_REGION_CODE = "000000"


@dataclass(frozen=True)
class Province:
    code: str  # 6-digit GB/T 2260 province code
    abbr: str  # bureau code (ISO 3166-2:CN subdivision letters)
    name: str  # short Chinese name, as used in bank and bureau names
    en: str
    weight: float  # relative share of locally supervised institutions
    cities: tuple[tuple[str, str], ...]  # (code, name) of prefecture-level cities


PROVINCES: tuple[Province, ...] = (
    Province("110000", "BJ", "北京", "Beijing", 0.6, (("110100", "北京"),)),
    Province("120000", "TJ", "天津", "Tianjin", 0.4, (("120100", "天津"),)),
    Province("130000", "HE", "河北", "Hebei", 1.0, (
        ("130100", "石家庄"), ("130200", "唐山"), ("130300", "秦皇岛"), ("130400", "邯郸"),
        ("130500", "邢台"), ("130600", "保定"), ("130700", "张家口"), ("130800", "承德"),
        ("130900", "沧州"), ("131000", "廊坊"), ("131100", "衡水"))),
    Province("310000", "SH", "上海", "Shanghai", 0.6, (("310100", "上海"),)),
    Province("320000", "JS", "江苏", "Jiangsu", 1.4, (
        ("320100", "南京"), ("320200", "无锡"), ("320300", "徐州"), ("320400", "常州"),
        ("320500", "苏州"), ("320600", "南通"), ("320700", "连云港"), ("320800", "淮安"),
        ("320900", "盐城"), ("321000", "扬州"), ("321100", "镇江"), ("321200", "泰州"),
        ("321300", "宿迁"))),
    Province("330000", "ZJ", "浙江", "Zhejiang", 1.4, (
        ("330100", "杭州"), ("330200", "宁波"), ("330300", "温州"), ("330400", "嘉兴"),
        ("330500", "湖州"), ("330600", "绍兴"), ("330700", "金华"), ("330800", "衢州"),
        ("330900", "舟山"), ("331000", "台州"), ("331100", "丽水"))),
    Province("350000", "FJ", "福建", "Fujian", 0.9, (
        ("350100", "福州"), ("350200", "厦门"), ("350300", "莆田"), ("350400", "三明"),
        ("350500", "泉州"), ("350600", "漳州"), ("350700", "南平"), ("350800", "龙岩"),
        ("350900", "宁德"))),
    Province("370000", "SD", "山东", "Shandong", 1.5, (
        ("370100", "济南"), ("370200", "青岛"), ("370300", "淄博"), ("370400", "枣庄"),
        ("370500", "东营"), ("370600", "烟台"), ("370700", "潍坊"), ("370800", "济宁"),
        ("370900", "泰安"), ("371000", "威海"), ("371100", "日照"), ("371300", "临沂"),
        ("371400", "德州"), ("371500", "聊城"), ("371600", "滨州"), ("371700", "菏泽"))),
    Province("410000", "HA", "河南", "Henan", 1.3, (
        ("410100", "郑州"), ("410200", "开封"), ("410300", "洛阳"), ("410400", "平顶山"),
        ("410500", "安阳"), ("410600", "鹤壁"), ("410700", "新乡"), ("410800", "焦作"),
        ("410900", "濮阳"), ("411000", "许昌"), ("411100", "漯河"), ("411200", "三门峡"),
        ("411300", "南阳"), ("411400", "商丘"), ("411500", "信阳"), ("411600", "周口"),
        ("411700", "驻马店"))),
    Province("420000", "HB", "湖北", "Hubei", 1.0, (
        ("420100", "武汉"), ("420200", "黄石"), ("420300", "十堰"), ("420500", "宜昌"),
        ("420600", "襄阳"), ("420700", "鄂州"), ("420800", "荆门"), ("420900", "孝感"),
        ("421000", "荆州"), ("421100", "黄冈"), ("421200", "咸宁"), ("421300", "随州"))),
    Province("440000", "GD", "广东", "Guangdong", 1.5, (
        ("440100", "广州"), ("440200", "韶关"), ("440300", "深圳"), ("440400", "珠海"),
        ("440500", "汕头"), ("440600", "佛山"), ("440700", "江门"), ("440800", "湛江"),
        ("440900", "茂名"), ("441200", "肇庆"), ("441300", "惠州"), ("441400", "梅州"),
        ("441500", "汕尾"), ("441600", "河源"), ("441700", "阳江"), ("441800", "清远"),
        ("441900", "东莞"), ("442000", "中山"))),
    Province("510000", "SC", "四川", "Sichuan", 1.2, (
        ("510100", "成都"), ("510300", "自贡"), ("510400", "攀枝花"), ("510500", "泸州"),
        ("510600", "德阳"), ("510700", "绵阳"), ("510800", "广元"), ("510900", "遂宁"),
        ("511000", "内江"), ("511100", "乐山"), ("511300", "南充"), ("511400", "眉山"),
        ("511500", "宜宾"), ("511600", "广安"), ("511700", "达州"), ("511800", "雅安"),
        ("511900", "巴中"), ("512000", "资阳"))),
)

PROVINCE_BY_CODE = {p.code: p for p in PROVINCES}

#: Districts where nationally supervised head offices sit (region code, province code).
HEAD_OFFICE_DISTRICTS: tuple[tuple[str, str], ...] = (
    ("110102", "110000"),  # 北京 西城区
    ("110101", "110000"),  # 北京 东城区
    ("110105", "110000"),  # 北京 朝阳区
    ("310115", "310000"),  # 上海 浦东新区
    ("440304", "440000"),  # 深圳 福田区
)


def bureaus() -> pd.DataFrame:
    """The supervising bureaus: HQ first, then one bureau per province (e.g. 浙江监管局)."""
    rows = [{
        "bureau_code": HQ_BUREAU_CODE, "name": HQ_BUREAU_NAME,
        "name_en": "National Financial Regulatory Administration (HQ)",
        "level": "national", "parent_code": None, "region_code": HQ_REGION_CODE,
    }]
    for p in PROVINCES:
        rows.append({
            "bureau_code": p.abbr, "name": f"{p.name}监管局", "name_en": f"{p.en} Regulatory Bureau",
            "level": "provincial", "parent_code": HQ_BUREAU_CODE, "region_code": p.code,
        })
    return pd.DataFrame(rows)
