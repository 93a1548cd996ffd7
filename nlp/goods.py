"""What goods a text names, and how a request expands: pure lexicon look-ups.

The search index stores each listing's canonical goods (product, specialty base,
category path) so synonyms and categories match without long OR queries.
"""
from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from typing import Any

from nlp import segment
from nlp.lexicon import lexicon
from nlp.numbers import canonical_unit


_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_LONGEST = 8


def _head(run: str) -> str | None:
    """The product a run of characters is about: its rightmost longest product name.

    Chinese compounds put the head last: 定西马铃薯粉条 is 粉条, 冰糖心苹果 is 苹果.
    """
    products = lexicon().products
    best: tuple[int, int] | None = None
    for start in range(len(run)):
        for end in range(min(len(run), start + _LONGEST), start + 1, -1):
            if run[start:end] in products:
                if best is None or end > best[1] or (end == best[1] and start < best[0]):
                    best = (start, end)
                break
    return run[best[0]:best[1]] if best else None


def goods_terms(title: str, category: str = "") -> list[str]:
    """Canonical goods of a listing: the head product of each part of its title (when
    they agree on a category), the products those are kinds of, a specialty's base
    product, and the category path."""
    lex = lexicon()
    heads = [h for h in (_head(run) for run in _CJK_RUN.findall(title)) if h]
    paths = [lex.category_of.get(lex.products[h]) for h in heads]
    if heads and any(paths):
        # Parts of a title that disagree: the category most of them name (the last on a tie).
        votes = Counter(p for p in paths if p)
        chosen = max(reversed([p for p in paths if p]), key=lambda p: votes[p])
        heads = [h for h, path in zip(heads, paths) if path == chosen or path is None]
    terms: list[str] = []
    for surface in heads:
        product = lex.products[surface]
        terms.append(product)
        if product in lex.specialties:
            terms.append(lex.specialties[product].base)
        terms.extend(kinds_of(product) + kinds_of(surface))
    for product in list(terms):
        path = lex.category_of.get(product, "")
        terms.extend(part for part in path.split("/") if part)
    if category:
        path = lex.categories.get(category, category)
        terms.extend(part for part in path.split("/") if part)
    return list(dict.fromkeys(terms))


def kinds_of(product: str) -> list[str]:
    """Shorter products that end this one: 薄皮核桃 → 核桃, 红心猕猴桃 → 猕猴桃."""
    products = lexicon().products
    return [products[product[k:]] for k in range(1, len(product) - 1) if product[k:] in products]


def search_parts(product: str) -> list[str]:
    """The dictionary parts of a compound product name, for titles that spell it apart."""
    return [part for part in segment.search_terms(product) if part != product]


def weight_factor(unit: str) -> Decimal | None:
    """斤 per unit for weight units (公斤 → 2), None for counted units (箱, 个 ...)."""
    canonical, factor = canonical_unit(unit.strip())
    return factor if canonical == "斤" else None


def product_surfaces(product: str) -> list[str]:
    lex = lexicon()
    return sorted(lex.surfaces.get(product, {product}), key=lambda s: (s != product, s))


def specialty_origin(product: str) -> tuple[str, list[str]] | None:
    """(base product, place names) for a regional specialty like 赣南脐橙."""
    lex = lexicon()
    specialty = lex.specialties.get(product)
    if specialty is None:
        return None
    regions = lex.regions.get(specialty.origin, [])
    return specialty.base, list(regions[0].names()) if regions else [specialty.origin]


def category_terms(category: str) -> list[str]:
    """The words a category matches in the index; a virtual one (年货) its parts."""
    lex = lexicon()
    if category in lex.virtual:
        return [part.rpartition("/")[2] for part in lex.virtual[category]]
    return [category]


def attribute_surfaces(attribute: str) -> list[str]:
    lex = lexicon()
    return sorted(surface for surface, canonical in lex.attributes.items()
                  if canonical == attribute and len(surface) > 1 or surface == attribute)


def region_names(origin: dict[str, Any]) -> list[str]:
    """Place names that a listing's origin text shows for an origin slot."""
    if origin.get("county"):
        return [origin["county"]]
    if origin.get("cities"):
        return list(origin["cities"])
    if origin.get("city") and origin.get("city") != origin.get("province"):
        return [origin["city"]]
    if origin.get("provinces"):
        return list(origin["provinces"])
    return [origin["province"]] if origin.get("province") else []


def short_place(name: str) -> str:
    """云南省 → 云南, 凉山彝族自治州 → 凉山: how people say it."""
    return lexicon().short.get(name, name)


def origin_label(origin: dict[str, Any]) -> str:
    """A short name for replies: 云南, 赣州, 寻乌."""
    return "、".join(short_place(name) for name in region_names(origin)[:3])
