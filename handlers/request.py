"""A buyer's request: what they want and every constraint they stated.

It lives in the session as plain JSON so follow-ups (还有吗, 便宜点的, 要云南的)
can refine it, and it turns into a db SearchSpec.
"""
from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from typing import Any

from db import listings
from db.listings import Candidate, Goods, SearchSpec
from nlp import Understanding, understand
from nlp.goods import (absent_thing, also_sought, animal_meat, attribute_surfaces,
                       category_terms, described_wordings, dried_forms, generics_of,
                       known_goods, may_be, names_as_head, negated_wordings, origin_label,
                       product_surfaces, qualifier_wordings, region_names, said_alike_in,
                       search_parts, short_place, sound_twins, specialty_origin,
                       titled_as_said, widened, written_alike_in)
from nlp.lexicon import lexicon
from nlp.shapes import meant_among

# How goods are packed, not what they are: the same goods unboxed are still what was asked.
PACKING_ATTRIBUTES = frozenset({"礼盒"})
CONSTRAINTS = ("qualifiers", "attributes", "origin", "price")  # relaxation order for ties


def _fen(value: Any) -> int | None:
    return None if value is None else int((Decimal(str(value)) * 100).to_integral_value())


@dataclass(frozen=True)
class Request:
    product: str | None = None
    category: str | None = None
    words: tuple[str, ...] = ()
    origin: dict[str, Any] | None = None
    attributes: tuple[str, ...] = ()
    price_min: str | None = None
    price_max: str | None = None
    price_per: str | None = None
    quantity: str | None = None
    unit: str | None = None
    qualifiers: tuple[str, ...] = ()   # words the title must show (白心 in 白心火龙果)
    buyer_city: str | None = None      # where the buyer is or wants it sent; never a filter
    written: str | None = None         # the goods as written, when read as a typo (平果)
    place_named: bool = False          # the origin was written onto the goods (南安板鸭)
    said: str | None = None            # the goods as written (鹤庆乾酒, 侗家酸鱼): what titles
                                       # may show verbatim when every reading finds nothing
    described: tuple[str, ...] = ()    # what a clause before 的 says of the goods (凉拌菜,
                                       # 不加碘): listings showing it first; negated, a must

    @classmethod
    def from_understanding(cls, understanding: Understanding) -> Request:
        slots = understanding.slots
        text = {k: str(slots[k]) for k in ("price_min", "price_max", "quantity") if k in slots}
        return cls(product=slots.get("product"), category=slots.get("category"),
                   words=tuple(understanding.words) if not (
                       slots.get("product") or slots.get("category")) else (),
                   origin=slots.get("origin"), attributes=tuple(slots.get("attributes", ())),
                   price_per=slots.get("price_per"), unit=slots.get("unit"),
                   qualifiers=tuple(understanding.qualifiers),
                   buyer_city=slots.get("buyer_city"),
                   written=understanding.corrected or None,
                   place_named="place_named" in understanding.flags,
                   said=understanding.said or None,
                   described=tuple(understanding.described), **text)

    @classmethod
    def noun(cls, word: str, said: str | None = None,
             described: tuple[str, ...] = ()) -> Request:
        """A noun said alone (菱角): goods only where titles have it as written, or the
        shelf the goods were exported under names it."""
        return cls(words=(word,), written=word, said=said if said != word else None,
                   described=described)

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> Request | None:
        if not data:
            return None
        data = {key: value for key, value in data.items() if key in cls.__dataclass_fields__}
        for name in ("words", "attributes", "qualifiers", "described"):
            data[name] = tuple(data.get(name, ()))
        return cls(**data)

    def dump(self) -> dict[str, Any]:
        """The fields as a dict for the session (asdict's deep copy costs more than the
        handling around it: the fields hold only strings, tuples and the origin's dict)."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        if self.origin is not None:
            data["origin"] = dict(self.origin)
        return data

    @property
    def has_goods(self) -> bool:
        return bool(self.product or self.category or self.words)

    @property
    def browsable(self) -> bool:
        """Goods named, or an attribute alone (送礼的, 有机的): anything that has it."""
        return self.has_goods or bool(self.attributes)

    @property
    def has_price(self) -> bool:
        return self.price_min is not None or self.price_max is not None

    def present(self) -> list[str]:
        """The stated constraints, in relaxation order."""
        return [name for name, there in (("qualifiers", bool(self.qualifiers)),
                                         ("attributes", bool(self.attributes)),
                                         ("origin", bool(self.origin)),
                                         ("price", self.has_price)) if there]

    def without(self, *names: str) -> Request:
        changes: dict[str, Any] = {}
        if "qualifiers" in names:
            changes["qualifiers"] = ()
        if "attributes" in names:
            changes["attributes"] = ()
        if "origin" in names:
            changes["origin"] = None
        if "price" in names:
            changes.update(price_min=None, price_max=None, price_per=None)
        return replace(self, **changes)

    def refined(self, other: Request) -> Request:
        """This request plus the constraints of a follow-up (要云南的, 要有机的, 50以内)."""
        return replace(
            self, origin=other.origin or self.origin,
            attributes=tuple(dict.fromkeys(self.attributes + other.attributes)),
            price_min=other.price_min if other.has_price else self.price_min,
            price_max=other.price_max if other.has_price else self.price_max,
            price_per=other.price_per if other.has_price else self.price_per,
            buyer_city=other.buyer_city or self.buyer_city)

    def same_product(self) -> Request | None:
        """What to offer when the named specialty or listing is sold out: the same product
        from anywhere (褚橙 → 冰糖橙, 黄岩蜜橘 → 蜜橘), every other constraint kept; a bare
        product whose listings are all sold out is itself, so that what it is a kind of is
        offered (冰糖橙 → 橙子); a name we lack (杜康, 杜康酒: words or a qualifier) is
        what is left without it, the category if any, so that the goods the sold-out
        listing is indexed as are offered (白酒). None when nothing wider can be named: a
        generic alone (芒果) is told it is sold out, not offered another."""
        specialty = specialty_origin(self.product) if self.product else None
        if specialty is None and not (self.origin or self.qualifiers or self.words):
            return self if self.product and self._widened() else None
        product = specialty[0] if specialty else self.product
        return replace(self, product=product, origin=None, qualifiers=(), words=(),
                       written=None, said=None)

    def wider(self) -> list[Request]:
        """This request for each generic product its product is a kind of."""
        return [replace(self, product=generic) for generic in self._widened()]

    def _widened(self) -> list[str]:
        product = self.product or ""
        return widened(product) or animal_meat(product)

    def spec(self, exclude: tuple[int, ...] = (), cap: int = 30) -> SearchSpec:
        goods: list[Goods] = []
        if self.product:
            parts = search_parts(self.product) if len(self.product) > 2 else []
            goods.append(Goods(tuple(product_surfaces(self.product)), parts=tuple(parts)))
            specialty = specialty_origin(self.product)
            if specialty:
                base, places = specialty
                goods.append(Goods(tuple(product_surfaces(base)), tuple(places)))
            goods.extend(Goods(terms, within=within) for terms, within in also_sought(self.product))
        per = self.price_per
        total = per == "total"
        quantity = float(self.quantity) if total and self.quantity else None
        return SearchSpec(
            goods=tuple(goods),
            categories=tuple(category_terms(self.category)) if self.category else (),
            words=self.words,
            title_words=tuple(qualifier_wordings(q) for q in self.qualifiers if q.strip()),
            origin=tuple(region_names(self.origin)) if self.origin else (),
            attributes=tuple(tuple(attribute_surfaces(a)) for a in self.attributes),
            price_min_fen=_fen(self.price_min), price_max_fen=_fen(self.price_max),
            per_jin=per == "斤", unit=per if per not in (None, "斤", "total") else None,
            quantity=quantity, exclude=exclude, cap=cap)

    def goods_label(self) -> str:
        return (self.product or self.category or "".join(self.words)
                or ("、".join(self.attributes) + "的货" if self.attributes else "这类货"))

    def label(self) -> str:
        """云南产的有机土鸡蛋, 白心火龙果"""
        origin = f"{origin_label(self.origin)}产的" if self.origin else ""
        attributes = "".join(self.attributes) if self.has_goods else ""
        goods = self.goods_label()
        named = next((q for q in self.qualifiers if q.endswith(goods) or goods in q), None)
        return f"{origin}{attributes}{named or ''.join(self.qualifiers) + goods}"

    def price_label(self) -> str:
        per = f"一{self.price_per}" if self.price_per and self.price_per != "total" else ""
        low, high = self.price_min, self.price_max
        if low and high and low != high:
            return f"{_yuan(low)}到{_yuan(high)}元{per}"
        if high and not low:
            return f"{_yuan(high)}元{per}以内"
        if low and not high:
            return f"{_yuan(low)}元{per}以上"
        return f"{_yuan(high or low)}元{per}" if (high or low) else ""


def _yuan(value: str) -> str:
    return format(Decimal(value).normalize(), "f")




@dataclass
class Retrieved:
    """Candidates for a request, and how they were found."""
    candidates: list[Candidate]
    request: Request                    # the request they answer (the same product when sold out)
    sold_out: str | None = None         # what the buyer named, when it is sold out
    fallback: bool = False              # found by title text, not by the goods index
    tried: list[str] = field(default_factory=list)

    @cached_property
    def sellers(self) -> tuple[int, ...]:
        """The candidates' sellers, in id order: what reliability is read and kept for."""
        return tuple(sorted({c.seller_id for c in self.candidates}))


def retrieve(conn: sqlite3.Connection, request: Request, exclude: tuple[int, ...] = (),
             cap: int = 30) -> Retrieved:
    """The goods found for a request (_retrieve), those its described clause fits first."""
    found = _retrieve(conn, request, exclude, cap)
    if request.described and found.candidates:
        found.candidates = _described_first(conn, request.described, found.candidates)
    return found


def _described_first(conn: sqlite3.Connection, described: tuple[str, ...],
                     candidates: list[Candidate]) -> list[Candidate]:
    """凉拌菜用的油, 现剥的海胆, 不加碘的盐: the listings whose text shows most of what the
    clause says (a purpose, a way of making, an absence) when any does, else all of them;
    a listing saying what the buyer said is absent (加碘, with no 未加碘) is never offered."""
    negated = {word: negated_wordings(word) for word in described}
    for word, absent in negated.items():
        if not absent:
            continue
        ids = [c.id for c in candidates]
        says, denies = (listings.described_count(conn, ids, [w])
                        for w in ((absent_thing(word),), absent))
        candidates = [c for c in candidates if not says.get(c.id) or denies.get(c.id)]
    wordings = [negated[word] or described_wordings(word) for word in described]
    counts = listings.described_count(conn, [c.id for c in candidates], wordings)
    best = max(counts.values(), default=0)
    return [c for c in candidates if counts.get(c.id) == best] if best else candidates


def _retrieve(conn: sqlite3.Connection, request: Request, exclude: tuple[int, ...] = (),
              cap: int = 30) -> Retrieved:
    """The goods index first; if it finds nothing, titles that are about the product (still
    bound by every constraint); if the named listing or specialty is sold out, the same
    product from other sellers."""
    if request.written:
        literal = _as_written(conn, request, exclude, cap) or _shelved_as(conn, request,
                                                                         exclude, cap)
        if literal:
            return literal
    found = listings.find(conn, request.spec(exclude, cap))
    if found or not request.browsable:
        return Retrieved(found, request)
    said = _said_in_titles(conn, request, exclude, cap)
    if said is not None:
        return said
    named = _place_in_name(conn, request)
    if named is not None:
        return retrieve(conn, named, exclude, cap)
    if request.product:
        surfaces = tuple(product_surfaces(request.product))
        spec = replace(request.spec(exclude, cap), goods=(), title_any=surfaces,
                       title_unless=surfaces)
        # A title about the product, unless the index reads it as goods of another kind:
        # 延边辣白菜 is a 泡菜 (调味品), no 白菜.
        titled = [c for c in listings.find(conn, spec) if names_as_head(c.title, surfaces)
                  and may_be(c.product, request.product)]
        if titled:
            return Retrieved(titled, request, fallback=True)
    heard = _qualifier_heard_in_titles(conn, request, exclude, cap)
    if heard is not None:
        return heard
    if request.qualifiers:  # 膨风茶 where a description says 又名膨风茶: that listing's name
        described = listings.find(conn, _described_instead(request.spec(exclude, cap)))
        if described:
            return Retrieved(described, request)
    twin = _sound_twin(conn, request, exclude, cap)
    if twin is not None:
        return twin
    meant = _title_word_meant(conn, request, exclude, cap)
    if meant is not None:
        return meant
    boxed = _attributes_sold_out(conn, request, exclude, cap)
    if boxed is not None:
        return boxed
    same = request.same_product()
    if same is not None and _sold_out(conn, request):
        # The same product from anywhere, else what it is a kind of (滩羊肉 → 羊肉, 六安瓜片
        # → 绿茶), else the goods the sold-out listings themselves are (凌云白毫, a name we
        # lack, is a 绿茶; the only 郏县 牛腩 is 牛肉).
        # A request naming no product (杜康酒, 杜康) first takes what the sold-out
        # listing is: its category alone would offer any drink.
        listed = _listed_as(conn, request, same)
        # Fresh goods sold out may be had dried from the same place (李广杏 → 李广杏干).
        dried = [replace(request, product=d, words=(), written=None)
                 for d in dried_forms(request.product or "")]
        order = (same, *dried, *same.wider(), *listed) if same.product else (*listed, same)
        for wider in (w for w in order if w.browsable):
            found = listings.find(conn, wider.spec(exclude, cap))
            if found:
                return Retrieved(found, wider, sold_out=request.label())
        return Retrieved([], same, sold_out=request.label())
    return _kind_titled(conn, request, exclude, cap) or Retrieved([], request)


def _kind_titled(conn: sqlite3.Connection, request: Request, exclude: tuple[int, ...],
                 cap: int) -> Retrieved | None:
    """青脆李, a kind of 李子 none is listed as: a 李子 whose title shows what sets the kind
    apart (巫山 脆李 … 青脆), the name less its generic's head character."""
    product = request.product or ""
    if len(product) < 3 or specialty_origin(product):
        return None  # a specialty names its place, and is offered as sold out or not at all
    for generic in generics_of(product):
        if product[-1] not in generic or product[-2] in generic:
            continue  # 青脆 + 李 of 李子; not 五常大 + 米 of 大米
        meant = replace(request, product=generic, written=None, said=None,
                        qualifiers=(*request.qualifiers, product[:-1]))
        found = listings.find(conn, meant.spec(exclude, cap))
        if found:
            return Retrieved(found, meant)
    return None


class _VersionedCache:
    """Values per key for one version of what they were read from (Versions).

    Many buyers send the same few requests; the candidates only change when a listing
    or a seller does, and any such change bumps the catalogue version, which is read
    in the same trip as the lookup (likewise sellers' reliability and orders). The
    version names the database file: one process may hold several (the tests do).
    Entries are shared and must not be mutated.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._version: tuple[str, int] | None = None
        self._lock = threading.Lock()  # database threads share it

    def get(self, version: tuple[str, int], key: tuple[Any, ...]) -> Any:
        with self._lock:
            if version != self._version:
                if self._version is not None and version[0] == self._version[0] \
                        and version[1] < self._version[1]:
                    return None  # an asker behind the times: the entries are newer
                self._entries.clear()
                self._version = version
                return None
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, version: tuple[str, int], key: tuple[Any, ...], found: Any) -> None:
        with self._lock:
            if version != self._version:
                return  # the data moved while this was read
            self._entries[key] = found
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)


_CACHE = _VersionedCache()
_RELIABILITY = _VersionedCache()


def retrieve_cached(conn: sqlite3.Connection, request: Request,
                    exclude: tuple[int, ...] = (), cap: int = 30,
                    version: tuple[str, int] | None = None) -> Retrieved:
    """retrieve(), served from the cache while the catalogue is unchanged."""
    # Read the version first: a change committed after it can only make the cached
    # entry newer than its version, never older.
    version = version or listings.catalogue_version(conn)
    key = _cache_key(request, exclude, cap)
    found = _CACHE.get(version, key)
    if found is None:
        found = retrieve(conn, request, exclude, cap)
        _CACHE.put(version, key, found)
    return found


def _cache_key(request: Request, exclude: tuple[int, ...], cap: int = 30) -> tuple[Any, ...]:
    # repr, not dump(): asdict's deep copy cost more than the lookup saves. Equal reprs
    # are equal requests; the same text always builds its slots in the same order.
    return repr(request), exclude, cap


def rankable_if_cached(versions: listings.Versions, request: Request,
                       exclude: tuple[int, ...] = ()) -> tuple[Retrieved, dict[int, float]] | None:
    """What retrieve_rankable() would return, when both parts are cached under these
    versions: no database trip at all. None otherwise."""
    found = _CACHE.get((versions.file, versions.catalogue), _cache_key(request, exclude))
    if found is None:
        return None
    reliability = _RELIABILITY.get((versions.file, versions.orders), found.sellers)
    return None if reliability is None else (found, reliability)


def retrieve_rankable(conn: sqlite3.Connection, request: Request, exclude: tuple[int, ...] = ()
                      ) -> tuple[Retrieved, dict[int, float]]:
    """The candidates and their sellers' reliability: what ranking needs, in one trip.
    Reliability follows orders: it is kept until an order is placed or changes."""
    versions = listings.versions(conn)
    found = retrieve_cached(conn, request, exclude, version=(versions.file, versions.catalogue))
    orders = (versions.file, versions.orders)
    reliability = _RELIABILITY.get(orders, found.sellers)
    if reliability is None:
        reliability = listings.reliability(conn, found.sellers)
        _RELIABILITY.put(orders, found.sellers, reliability)
    return found, reliability


def _as_written(conn: sqlite3.Connection, request: Request, exclude: tuple[int, ...],
                cap: int) -> Retrieved | None:
    """A word read as a typo that sellers' titles have is no typo: the buyer meant it."""
    written = request.written or ""
    literal = replace(request, product=None, words=(), written=None)
    spec = replace(literal.spec(exclude, cap), title_any=(written,))
    titled = [c for c in listings.find(conn, spec) if titled_as_said(c.title, written)]
    return Retrieved(titled, replace(literal, words=(written,))) if titled else None


def _shelved_as(conn: sqlite3.Connection, request: Request, exclude: tuple[int, ...],
                cap: int) -> Retrieved | None:
    """A noun alone that no title shows may name the shelf sellers exported the goods
    under, their own statement of what the goods are (面包 for a 大列巴 under 糕点 > 面包,
    馄饨 for 扁肉 under 馄饨水饺, 糕点), or the kind the goods are indexed as (金帅 for 金帅苹果)."""
    written = request.written or ""
    if request.product or request.category or request.words != (written,):
        return None
    literal = replace(request, words=(), written=None, said=None)
    found = listings.find(conn, replace(literal.spec(exclude, cap), categories=(written,)))
    return Retrieved(found, replace(literal, category=written)) if found else None


def _said_in_titles(conn: sqlite3.Connection, request: Request, exclude: tuple[int, ...],
                    cap: int) -> Retrieved | None:
    """What every reading missed, titles show as the buyer wrote it: 鹤庆乾酒 (乾 reads as 干,
    a 葡萄酒), 侗家酸鱼 where the title writes 侗家 酸鱼, 禾花鱼 as the 禾花鱼干 titled so, 列巴
    as a 大列巴. Every constraint but the goods is kept."""
    said = request.said or ""
    if len(said) < 2 or said == request.written or known_goods(said):
        return None  # a typo's word was looked for as written already; 糯米 was read right
    pieces = listings.title_terms_within(conn, said)
    if not pieces:
        return None
    literal = replace(request, product=None, category=None, words=(), qualifiers=(),
                      written=None, said=None)
    spec = replace(literal.spec(exclude, cap), title_any=(pieces[0],))
    shown = [c for c in listings.find(conn, spec) if titled_as_said(c.title, said)]
    return Retrieved(shown, replace(literal, words=(said,))) if shown else None


def _place_in_name(conn: sqlite3.Connection, request: Request) -> Request | None:
    """A place written onto the goods that no listing from there has, but titles show as
    part of the goods' name (南安板鸭 from 大余, 樟树港 辣椒 from 湘阴): the request for titles
    naming it so, from anywhere, in stock or sold out. Only a county or a city names goods
    so; a province written onto them (云南普洱, 东北大米) is where they are from."""
    origin = request.origin or {}
    if not (request.place_named and (origin.get("county") or origin.get("city"))):
        return None
    bound = request.without("price", "attributes")
    if listings.find(conn, replace(bound.spec(cap=1), sold_out=True)):
        return None  # goods from there exist, sold out: the origin was meant
    names = [n for name in region_names(request.origin)
             for n in dict.fromkeys((name, short_place(name))) if len(n) > 1]
    loose = request.without("origin", "price", "attributes").spec(cap=5)
    for sold_out in (False, True):
        spec = replace(loose, sold_out=sold_out, title_words=(*loose.title_words, tuple(names)))
        titles = [c.title.replace(" ", "") for c in listings.find(conn, spec)]
        name = next((n for n in names if any(n in title for title in titles)), None)
        if name:
            return replace(request, origin=None, place_named=False,
                           qualifiers=(*request.qualifiers, name))
    return None


def _listed_as(conn: sqlite3.Connection, request: Request, same: Request) -> list[Request]:
    """The same request for each product the sold-out listings it names are indexed as,
    without the words that named them."""
    named = request.without("price", "attributes")
    sold = _sold_listings(conn, named.spec(cap=5))
    products = [p for p in dict.fromkeys(c.product for c in sold) if p and p != same.product]
    listed = [replace(same, product=p, category=None, words=()) for p in products]
    # What the sold-out goods are prepared as (冷吃兔 is 熟食): other goods made so, once
    # nothing of the same product is left.
    made = [replace(same, product=None, category=c, words=(), qualifiers=())
            for c in listings.indexed_goods(conn, [c.id for c in sold]) if c in _made_as()]
    return [*listed, *(wider for each in listed for wider in each.wider()), *made]


def _made_as() -> frozenset[str]:
    """Virtual categories naming how goods are made ready to eat (熟食), not an occasion:
    those categories.json lists as prepared."""
    lex = lexicon()
    return frozenset(c for c in lex.virtual if c in lex.prepared)


def _qualifier_heard_in_titles(conn: sqlite3.Connection, request: Request,
                               exclude: tuple[int, ...], cap: int) -> Retrieved | None:
    """原蘑 where a 蘑菇 title shows 元蘑: a word the titles must show that none does, but
    one of the goods' titles has a word said exactly as it, is that word misheard."""
    for qualifier in request.qualifiers:
        rest = tuple(q for q in request.qualifiers if q != qualifier)
        loose = replace(request, qualifiers=rest)
        if not loose.has_goods:
            continue
        for candidate in listings.find(conn, loose.spec(exclude, cap)):
            heard = said_alike_in(qualifier, candidate.title) or written_alike_in(
                qualifier, candidate.title)
            if heard:
                meant = replace(request, qualifiers=(*rest, heard))
                found = listings.find(conn, meant.spec(exclude, cap))
                if found:
                    return Retrieved(found, meant)
    return None


def _is_nonfood(word: str) -> bool:
    return word in lexicon().nonfood


def _title_word_meant(conn: sqlite3.Connection, request: Request, exclude: tuple[int, ...],
                      cap: int) -> Retrieved | None:
    """羊拼, 挂而, 线免: a word said alone that no title shows and the lexicons lack, one
    character after its first from a word titles do show that names goods, written or
    said alike, is that word mistyped (羊排, 挂面, 线面), when it is the one clear best;
    then read as that word."""
    word = request.written or ""
    if request.words != (word,) or not 2 <= len(word) <= 4 or _is_nonfood(word):
        return None  # a thing we do not sell is no typo (茶杯 is no 一杯)
    # The first character as written: the vocabulary is read by it, never scanned whole.
    patterns = [word[:n] + "_" + word[n + 1:] for n in range(1, len(word))]
    readings = {w: understand(w) for w in listings.title_words_like(conn, patterns)}
    # Goods the lexicons know first (大米 before 大果), then a noun they lack (鱼糕).
    known = [w for w, r in readings.items() if {"product", "category"} & r.slots.keys()]
    meant = meant_among(word, known) or meant_among(
        word, [w for w, r in readings.items() if "noun" in r.flags])
    if meant is None:
        return None
    # A noun titles show is found as written (Request.noun's literal lookup, done).
    read = (Request(words=(meant,)) if meant not in known
            else Request.from_understanding(readings[meant]))
    found = listings.find(conn, read.spec(exclude, cap)) if read.browsable else []
    if not found and meant in known:  # the titles' word as written, however the lexicon
        return _as_written(conn, Request.noun(meant), exclude, cap)  # reads it (扁肉, no 驴肉)
    return Retrieved(found, read) if found else None


def _sound_twin(conn: sqlite3.Connection, request: Request, exclude: tuple[int, ...],
                cap: int) -> Retrieved | None:
    """竹孙 read as 竹笋 where titles show 竹荪 only: a typo said as two products' names is
    the one sellers list."""
    if not (request.written and request.product):
        return None
    for twin in sound_twins(request.product):
        other = replace(request, product=twin)
        found = listings.find(conn, other.spec(exclude, cap))
        if found:
            return Retrieved(found, other)
    return None


def _attributes_sold_out(conn: sqlite3.Connection, request: Request, exclude: tuple[int, ...],
                         cap: int) -> Retrieved | None:
    """杨梅礼盒 when the only gift box is sold out: the boxed listing exists but none in
    stock, so the same goods in stock unboxed, saying the named one is sold out (words that
    only described that listing, 大果, go with it). Only packing is dropped: 野生核桃 sold
    out is not offered farmed walnuts."""
    packing = [a for a in request.attributes if a in PACKING_ATTRIBUTES]
    if not packing:
        return None
    named = request.without("price")
    if listings.find(conn, named.spec(cap=1)) or not listings.find(
            conn, replace(named.spec(cap=1), sold_out=True)):
        return None
    plain = replace(request, words=(), attributes=tuple(
        a for a in request.attributes if a not in PACKING_ATTRIBUTES))
    found = listings.find(conn, plain.spec(exclude, cap)) if plain.browsable else []
    return Retrieved(found, plain, sold_out=request.label()) if found else None


def _sold_out(conn: sqlite3.Connection, request: Request) -> bool:
    """The named goods exist but none is in stock. Price and attributes are left out: when
    an in-stock one is only too dear, the relaxation question says so instead."""
    named = request.without("price", "attributes")
    if listings.find(conn, named.spec(cap=1)):
        return False
    return bool(_sold_listings(conn, named.spec(cap=1)))


def _sold_listings(conn: sqlite3.Connection, spec: SearchSpec) -> list[Candidate]:
    """Sold-out listings a spec names: by their titles, else by another name their
    descriptions give them (膨风茶: 东方美人茶, 又名膨风茶)."""
    sold = replace(spec, sold_out=True)
    return listings.find(conn, sold) or (
        listings.find(conn, _described_instead(sold)) if spec.title_words else [])


def _described_instead(spec: SearchSpec) -> SearchSpec:
    """The spec with the words its titles must show looked for in the title, tags or
    description instead: where a listing's other name is given."""
    return replace(spec, title_words=(), described_words=spec.title_words)
