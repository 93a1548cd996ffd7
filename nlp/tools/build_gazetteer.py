"""Generate nlp/data/regions.json from jionlp's administrative-division data.

Run offline, with the development extra installed:

    pip install -e ".[dev]" && python -m nlp.tools.build_gazetteer

Why offline: jionlp's parse_location costs 5-17 ms per call, far too slow inside
understand(), so jionlp is a development dependency only and the committed JSON
is what the bot reads. Every province, prefecture (city level) and county is
kept with jionlp's short names; where it has none, a short name is derived by
stripping the administrative suffix when at least two characters remain.
Counties of the four municipalities have city = the municipality itself.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import jionlp

OUT = Path(__file__).resolve().parent.parent / "data" / "regions.json"
SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "自治县",
            "自治旗", "林区", "地区", "新区", "省", "市", "盟", "县", "区", "旗")


def _source() -> list[str]:
    path = Path(jionlp.__file__).parent / "dictionary" / "china_location.zip"
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".txt"))
        return io.TextIOWrapper(archive.open(name), encoding="utf-8").read().splitlines()


def _derived(name: str) -> str | None:
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


def _aliases(name: str, given: str) -> list[str]:
    aliases = [a for a in given.split("/") if a and a != name and len(a) >= 2]
    derived = _derived(name)
    if not aliases and derived and derived != name:
        aliases.append(derived)
    return sorted(set(aliases))


def build() -> list[dict[str, object]]:
    regions: list[dict[str, object]] = []
    province = city = None
    for line in _source():
        depth = len(line) - len(line.lstrip("\t"))
        fields = line.strip().split("\t")
        if depth > 2 or len(fields) != 3:
            continue
        name, _code, given = fields
        if depth == 0:
            province, city = name, None
            regions.append({"name": name, "level": "province", "province": name, "city": None,
                            "county": None, "aliases": _aliases(name, given)})
        elif depth == 1:
            city = name
            if name != province:
                regions.append({"name": name, "level": "city", "province": province,
                                "city": name, "county": None, "aliases": _aliases(name, given)})
        else:
            regions.append({"name": name, "level": "county", "province": province, "city": city,
                            "county": name, "aliases": _aliases(name, given)})
    return regions


def main() -> None:
    regions = build()
    lines = ",\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in regions)
    OUT.write_text('{"regions":[\n' + lines + "\n]}\n", encoding="utf-8")
    levels = {level: sum(1 for r in regions if r["level"] == level)
              for level in ("province", "city", "county")}
    print(f"wrote {OUT}: {levels}")


if __name__ == "__main__":
    main()
