"""What goods a text names, and how a request expands: pure lexicon look-ups.

The search index stores each listing's canonical goods (product, specialty base,
category path) so synonyms and categories match without long OR queries.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from nlp import segment
from nlp.lexicon import lexicon
from nlp.numbers import canonical_unit


def goods_terms(title: str, category: str = "") -> list[str]:
    """Canonical product, specialty base and category path of a listing."""
    lex = lexicon()
    terms: list[str] = []
    for word in segment.words(title):
        canonical = lex.products.get(word)
        if canonical is None:
            continue
        terms.append(canonical)
        if canonical in lex.specialties:
            terms.append(lex.specialties[canonical].base)
        break
    for product in list(terms):
        path = lex.category_of.get(product, "")
        terms.extend(part for part in path.split("/") if part)
    if category:
        path = lex.categories.get(category, category)
        terms.extend(part for part in path.split("/") if part)
    return list(dict.fromkeys(terms))


def product_of(title: str) -> str | None:
    terms = goods_terms(title)
    return terms[0] if terms and terms[0] in lexicon().products.values() else None


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
