"""Generate nlp/data/regions.json from jionlp's administrative-division data.

Run offline, with the development extra installed:

    pip install -e ".[dev]" && python -m nlp.tools.build_gazetteer

Why offline: jionlp's parse_location costs 5-17 ms per call, far too slow inside
understand(), so jionlp is a development dependency only and the committed JSON
is what the bot reads. This script imports nothing from the project.

Source: jionlp.dictionary.dictionary_loader.china_location_loader(), which reads
jionlp/dictionary/china_location.txt (also shipped as china_location.zip). Each
line there is "name<TAB>admin code<TAB>short name", indented by one tab per
level (province, city, county; towns and villages below are ignored), and the
loader returns {province: {"_full_name", "_alias", "_admin_code",
city: {..., county: {...}}}}. City "_alias" is a list (e.g. 克州/克孜勒苏); the
others are strings. Lines without a code, i.e. Taiwan's districts, are dropped
by the loader and so are not here.

What is written, one record per line, sorted by (province, city, level, name):

    {"name", "level": province|city|county, "province", "city", "county", "aliases"}

* Every province, prefecture (city level) and county that the loader returns.
* Municipalities and SARs (北京/上海/天津/重庆/香港/澳门): jionlp repeats the
  province as their only city; no separate city record is written and their
  counties have city = the province's full name (奉节县 -> city "重庆市").
* jionlp's placeholder city "省直辖行政区划" (county-level units under a province,
  e.g. 济源市, 仙桃市, 神农架林区, 五指山市, 石河子市) is not a place: no record is
  written for it and its counties have city = null.
* jionlp's placeholder county "市直辖行政区划" (cities without counties: 东莞市,
  中山市, 儋州市, 嘉峪关市) is dropped; the city itself is kept.
* aliases: jionlp's short names (江西省 -> 江西, 凉山彝族自治州 -> 凉山). jionlp
  repeats the full name when it has no short name (云县, 吉林市, 兴安盟); only then
  is one derived by stripping the administrative suffix, with the ethnic prefix
  of an autonomous unit (…彝族自治州), keeping it only when at least two characters
  remain (吉林市 -> 吉林, 兴安盟 -> 兴安; 云县 -> none). Single-character aliases
  and aliases equal to the name are dropped, and so are the generic labels jionlp
  gives development zones (经开区, 高新区, 示范区, 管理区, 产业园, 新区: dozens of
  zones share each one). Alias strings can still be ambiguous (朝阳, 吉林, 东区 …):
  the script prints how many.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "data" / "regions.json"
LEVELS = ("province", "city", "county")
CITY_PLACEHOLDER = "省直辖行政区划"
COUNTY_PLACEHOLDER = "市直辖行政区划"
GENERIC = frozenset({"经开区", "高新区", "示范区", "管理区", "产业园", "新区"})

# The 55 minority nationalities, as they appear before 自治区/州/县/旗, always with 族
# except in a few Xinjiang and Inner Mongolia names (新疆维吾尔自治区, 伊犁哈萨克自治州,
# 巴音郭楞蒙古自治州, 克孜勒苏柯尔克孜自治州, 鄂伦春自治旗).
_ETHNIC = sorted((
    "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 "
    "拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 "
    "塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"
).split(), key=len, reverse=True)
_BARE = ("维吾尔", "哈萨克", "蒙古", "柯尔克孜", "鄂伦春")
_AUTONOMOUS = re.compile("(?:(?:%s)族|%s)+自治(?:区|州|县|旗)$" % ("|".join(_ETHNIC), "|".join(_BARE)))
_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "林区", "地区", "新区", "矿区",
             "省", "市", "盟", "县", "区", "旗")


def derived_alias(name: str) -> str | None:
    """The name without its administrative suffix, if at least two characters remain.

    凉山彝族自治州 -> 凉山, 长白朝鲜族自治县 -> 长白, 内蒙古自治区 -> 内蒙古,
    鄂温克族自治旗 -> 鄂温克, 兴安盟 -> 兴安, 云县 -> None.
    """
    match = _AUTONOMOUS.search(name)
    stem = name[: match.start()] if match else ""
    if len(stem) < 2:  # no ethnic prefix, or the ethnic name is the place name
        suffix = next((s for s in _SUFFIXES if name.endswith(s)), "")
        stem = name[: len(name) - len(suffix)]
        stem = stem[:-1] if suffix.startswith("自治") and stem.endswith("族") else stem
    return stem if len(stem) >= 2 and stem != name else None


def aliases(name: str, given: str | list[str]) -> list[str]:
    """jionlp's short names, or a derived one where jionlp has none."""
    names = {a.strip() for a in (given if isinstance(given, list) else given.split("/"))} - {"", name}
    if not names:  # jionlp repeats the full name when it has no short name
        names = {derived_alias(name) or name} - {name}
    return sorted(a for a in names if len(a) >= 2 and a not in GENERIC)


def _children(node: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(k, v) for k, v in node.items() if not k.startswith("_") and isinstance(v, dict)]


def _record(name: str, level: str, province: str, city: str | None, given: Any) -> dict[str, Any]:
    return {"name": name, "level": level, "province": province, "city": city,
            "county": name if level == "county" else None, "aliases": aliases(name, given)}


def build(location: dict[str, Any]) -> list[dict[str, Any]]:
    """Region records from china_location_loader()'s nested dict."""
    regions = []
    for province, pnode in location.items():
        regions.append(_record(province, "province", province, None, pnode["_alias"]))
        short = set(aliases(province, pnode["_alias"])) | {province}
        for city, cnode in _children(pnode):
            if city == CITY_PLACEHOLDER:
                parent = None
            elif city == province or set(aliases(city, cnode["_alias"])) | {city} <= short:
                parent = province  # municipality or SAR: the city level repeats the province
            else:
                parent = city
                regions.append(_record(city, "city", province, city, cnode["_alias"]))
            for county, knode in _children(cnode):
                if county != COUNTY_PLACEHOLDER:
                    regions.append(_record(county, "county", province, parent, knode["_alias"]))
    regions.sort(key=lambda r: (r["province"], r["city"] or "", LEVELS.index(r["level"]), r["name"]))
    return regions


def ambiguous(regions: list[dict[str, Any]]) -> dict[str, int]:
    """Surface strings (names and aliases) that more than one record claims."""
    owners = Counter(s for r in regions for s in {r["name"], *r["aliases"]})
    return {s: n for s, n in sorted(owners.items()) if n > 1}


def dump(regions: list[dict[str, Any]]) -> str:
    lines = ",\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in regions)
    return '{"regions":[\n' + lines + "\n]}\n"


def main() -> None:
    from jionlp.dictionary.dictionary_loader import china_location_loader

    regions = build(china_location_loader())
    OUT.write_text(dump(regions), encoding="utf-8")
    counts = Counter(r["level"] for r in regions)
    shared = ambiguous(regions)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes): "
          + ", ".join(f"{level} {counts[level]}" for level in LEVELS))
    print(f"{len(shared)} surface strings name more than one region, e.g. "
          + " ".join(list(shared)[:10]))


if __name__ == "__main__":
    main()
