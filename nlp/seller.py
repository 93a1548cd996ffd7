"""What a seller's message says: a listing (title, price, unit, stock, origin), a
management command (改价 2 12元, 脐橙卖完了), a form edit, a profile answer.

Pure functions over text and the lexicons, like nlp/understand.py: no I/O at call
time. Wording lives in data/seller.json; numbers come from nlp/numbers.py.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from nlp import lexicon as lexicons
from nlp import numbers, segment
from nlp.lexicon import Region
from nlp.normalize import MAX_CHARS, normalise

MAX_TITLE = 60

_DEPTH = {"province": 0, "area": 1, "city": 2, "county": 3}
# How a weight unit reads in a listing: kg is 公斤 to a farmer.
_UNIT_NAMES = {"kg": "公斤", "g": "克", "千克": "公斤", "l": "升", "ml": "毫升"}
_BARE_NUMBER = re.compile(r"(?<![\d.])\d{1,9}(?:\.\d{1,3})?(?![\d.])")
_INDEX = re.compile(r"(?:第\s*)?(?P<n>\d{1,3}|[一二三四五六七八九十两]{1,3})\s*号")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_DIGITS = re.compile(r"[\d\s\-]{5,}")
_CLAIM = re.compile(r"^(?P<cue>认领|领取|绑定)\s*(?:码)?\s*[:：]?\s*(?P<code>[a-z0-9]{4,12})$")
_BUYER_GUARD = ("有没有", "买", "吗")


@dataclass(frozen=True)
class ListingText:
    """The listing fields one message states; None where it says nothing."""
    title: str | None = None
    product: str | None = None       # canonical product of the title, when the lexicon knows it
    price: Decimal | None = None     # yuan per `unit`
    unit: str | None = None          # the unit the price was given in (or the stock's)
    stock: Decimal | None = None     # in `unit`
    origin: dict[str, Any] | None = None  # {province, city, county} as far as known

    def stated(self) -> set[str]:
        return {name for name in ("title", "price", "unit", "stock", "origin")
                if getattr(self, name) is not None}


@dataclass(frozen=True)
class Command:
    """A listing management command: 改价 2 12元, 补货 2 100, 下架 2, 脐橙卖完了."""
    action: str  # reprice | restock | set_stock | sold_out | delist | relist | photo
    index: int | None = None         # the seller's listing number, when given
    product: str | None = None       # canonical goods named instead of a number
    surface: str | None = None       # the goods as written
    price: Decimal | None = None
    unit: str | None = None
    stock: Decimal | None = None


@cache
def _data() -> dict[str, Any]:
    return lexicons.table("seller.json")


@cache
def _word_set(name: str) -> frozenset[str]:
    return frozenset(_data()[name])


def _sell_cues() -> list[str]:
    return sorted(set(lexicons.table("intents.json")["sell"]) | {"卖", "出售", "上架"},
                  key=len, reverse=True)


# -- places -----------------------------------------------------------------

def _consistent(a: Region, b: Region) -> bool:
    """Two mentions that can describe one place: 江西 and 寻乌, not 浙江 and 南昌的西湖区."""
    if a.provinces or b.provinces or a.province != b.province:
        return False
    return not (a.city and b.city and a.city != b.city) and not (
        a.county and b.county and a.county != b.county)


def _mentions(words: list[str]) -> list[list[Region]]:
    """Every place the words name, each as its candidate regions (南昌: the city, the county)."""
    lex = lexicons.lexicon()
    keep = _word_set("keep_modifiers")
    found: list[list[Region]] = []
    for word in words:
        if len(word) < 2 or word in keep:
            continue
        if word in lex.regions:
            found.append(lex.regions[word])
        elif word in lex.products:
            prefix = _place_prefix(word)
            if prefix:
                found.append(lex.regions[prefix])
    return [candidates for candidates in found if not candidates[0].provinces]


def _place_prefix(word: str) -> str | None:
    """赣南脐橙, 五常大米, 定西土豆: a place name directly in front of goods."""
    lex = lexicons.lexicon()
    for size in (4, 3, 2):
        head, rest = word[:size], word[size:]
        if head in lex.regions and rest and (rest in lex.products or _ends_in_product(rest)):
            return head
    return None


def _ends_in_product(text: str) -> bool:
    products = lexicons.lexicon().products
    return any(text[k:] in products for k in range(len(text) - 1))


def resolve_place(mentions: list[list[Region]]) -> Region | None:
    """One region for all the mentions: each takes its first candidate that agrees with
    the others (杭州 + 西湖区 is Hangzhou's), then the deepest one wins (江西 赣州 寻乌 → 寻乌县)."""
    if not mentions:
        return None
    chosen: list[Region] = []
    for position, candidates in enumerate(mentions):
        others = [m for n, m in enumerate(mentions) if n != position]
        agreeing = [c for c in candidates
                    if sum(any(_consistent(c, o) for o in other) for other in others) > 0]
        chosen.append((agreeing or candidates)[0])
    anchor = chosen[0]
    group = [r for r in chosen if _consistent(r, anchor)] or [anchor]
    return max(group, key=lambda r: _DEPTH.get(r.level, 0))


def region_slot(region: Region) -> dict[str, Any]:
    """Province, city and county; an area spanning cities keeps its province only."""
    slot = {"province": region.province}
    if region.city:
        slot["city"] = region.city
    if region.county:
        slot["county"] = region.county
    return slot


def origin_text(origin: dict[str, Any] | None) -> str:
    """The full form a listing stores: 江西省 赣州市 寻乌县 (重庆市 奉节县, 湖北省 潜江市)."""
    if not origin:
        return ""
    parts: list[str] = []
    for key in ("province", "city", "county"):
        name = origin.get(key)
        if name and name not in parts:
            parts.append(name)
    return " ".join(parts)


def place_of(text: str) -> dict[str, Any] | None:
    """The region a text names (江西赣州寻乌, 老家在潜江, a location label), or None."""
    norm = normalise(text[:MAX_CHARS])
    region = resolve_place(_mentions(segment.words(numbers.extract(norm).rest)))
    return region_slot(region) if region else None


# -- the goods --------------------------------------------------------------

@cache
def _guard_words() -> frozenset[str]:
    """Words that start or end goods and must not lose a character to a cue (有机, 鲜玉米)."""
    lex = lexicons.lexicon()
    places = frozenset(name for name in lex.regions if len(name) > 1)
    return (frozenset(lex.products) | frozenset(lex.attributes) | _word_set("keep_modifiers")
            | places)


_LONGEST_WORD = 8
_LONGEST_JUNK_RUN = 40  # cues and fillers in front of goods are never longer than this


def _words_at(text: str, position: int, vocabulary: frozenset[str]) -> list[str]:
    last = min(len(text), position + _LONGEST_WORD)
    return [text[position:end] for end in range(position + 1, last + 1)
            if text[position:end] in vocabulary]


def _cut(text: str, junk: frozenset[str], guard: frozenset[str]) -> str:
    """Drop the longest run of junk words in front that does not cut into a guard word
    (帮我卖点核桃 → 核桃, 我这边有野生蜂蜜 → 野生蜂蜜, but 有机大米 keeps its 有)."""
    reachable = {0}
    for position in range(min(len(text), _LONGEST_JUNK_RUN)):  # bounded on any input
        if position in reachable:
            reachable |= {position + len(w) for w in _words_at(text, position, junk)}
    guarded = [(start, start + len(w)) for start in reachable
               for w in _words_at(text, start, guard)]
    best = max((end for end in reachable
                if not any(start < end < stop for start, stop in guarded)), default=0)
    return text[best:]


@cache
def _reversed(words: frozenset[str]) -> frozenset[str]:
    return frozenset(w[::-1] for w in words)


def _strip_lead(text: str) -> str:
    return _cut(text, _word_set("lead_words"), _guard_words())


def _strip_tail(text: str) -> str:
    junk = _word_set("tail_words") | _word_set("lead_words")
    return _cut(text[::-1], _reversed(junk), _reversed(_guard_words()))[::-1]


def _only_modifiers(text: str) -> bool:
    """散养, 自家散养, 新鲜: words that describe goods (greedy over keep_modifiers)."""
    keep = sorted(_word_set("keep_modifiers"), key=len, reverse=True)
    position = 0
    while position < len(text):
        word = next((w for w in keep if text.startswith(w, position)), None)
        if word is None:
            return False
        position += len(word)
    return bool(text)


def _is_place(word: str) -> bool:
    return len(word) > 1 and word in lexicons.lexicon().regions and word not in _word_set(
        "keep_modifiers")


def _clauses(words: list[str]) -> list[str]:
    """The text split at each 的 (散养的 and 自己种的 are single jieba words)."""
    lex = lexicons.lexicon()
    parts = [""]
    for word in words:
        if word == "的" or (word.endswith("的") and len(word) > 1 and word not in lex.products):
            parts[-1] += word[:-1]
            parts.append("")
        else:
            parts[-1] += word
    return parts


def _title_words(words: list[str], head: int | None) -> str:
    """The goods as named: modifiers and the head product, without cues, owners, places
    said with 的 and relative clauses (自家种的)."""
    parts = _clauses(words[:head + 1] if head is not None else words)
    kept = "".join(part for part in map(_strip_lead, parts[:-1]) if _only_modifiers(part))
    name = _strip_lead(parts[-1])
    if head is None:
        name = _strip_lead(_strip_tail(name))
    if len(name) > 2 * MAX_TITLE:
        return kept + name  # far too long to be a title; the length check will say so
    tokens = segment.words(name)
    places = 0
    while places < len(tokens) - 1 and _is_place(tokens[places]):
        places += 1
    if places:
        # 江西赣州寻乌脐橙: one place attached to the goods names them; a chain is the origin.
        attached = places == 1 and not _place_prefix(tokens[places])
        name = "".join(tokens[places - 1:] if attached else tokens[places:])
    return kept + name


def _segments(rest: str) -> list[tuple[int, str]]:
    return [(match.start(), match.group()) for match in re.finditer(r"[^\s,]+", rest)]


def _segmented(rest: str) -> list[tuple[int, str, list[str]]]:
    """(start, text, words) of each run between commas and spaces: segmented once."""
    return [(start, text, segment.words(text)) for start, text in _segments(rest)]


def _goods(segments: list[tuple[int, str, list[str]]], norm: str,
           anywhere: bool) -> tuple[str | None, str | None]:
    """(title, canonical product). The goods after a sell cue are what is sold; without a
    known product only a segment next to a sell cue (or `anywhere`, answering 卖什么) counts."""
    lex = lexicons.lexicon()
    cue = min(((norm.index(c), c) for c in _sell_cues() if c in norm), default=None)
    cue_end = cue[0] + len(cue[1]) if cue else 0
    heads = []
    for start, _, words in segments:
        positions = [i for i, w in enumerate(words) if w in lex.products]
        if positions:
            offset = start + len("".join(words[:positions[-1]]))
            heads.append((offset < cue_end, start, words, positions[-1]))
    suffixes = _word_set("goods_suffixes")
    for _, _, words, head in sorted(heads, key=lambda h: h[:2]):
        end = head
        while end + 1 < len(words) and words[end + 1] in suffixes:
            end += 1  # 黄桃罐头, 辣椒酱: a processed form is goods of its own
        title = _title_words(words, end)
        if title:
            return title, lex.products[words[head]]
    near = [(start, words) for start, text, words in segments
            if anywhere or (cue and (start <= cue[0] < start + len(text) or
                                     start + len(text) == cue[0] or start >= cue_end))]
    for start, words in near:
        title = _title_words(words, None)
        if title and _plausible_goods(title, words):
            return title, None
    return None, None


def _plausible_goods(title: str, words: list[str]) -> bool:
    not_goods = _word_set("not_goods") | lexicons.words("stopwords.txt")
    content = [w for w in words if w not in not_goods and w not in _word_set("lead_words")]
    return bool(content) and not all(_is_place(w) for w in content) and not any(
        w in _word_set("not_goods") for w in words) and not title.isdigit()


# -- numbers ----------------------------------------------------------------

def plain(value: Decimal) -> Decimal:
    """300, never 3E+2: normalize() alone turns round numbers into exponents."""
    return Decimal(format(value.normalize(), "f"))


def _unit_name(unit: str) -> str:
    return _UNIT_NAMES.get(unit, numbers.canonical_unit(unit)[0] if unit.endswith("装") else unit)


def _price(prices: list[numbers.Price]) -> tuple[Decimal | None, str | None]:
    """The first exact price, per unit as the seller said it (一公斤四块 is 4 per 公斤)."""
    exact = [p for p in prices if p.low is not None and p.low == p.high and p.per != "total"]
    chosen = next((p for p in exact if p.per), exact[0] if exact else None)
    if chosen is None or chosen.low is None:
        return None, None
    if not chosen.per:
        return plain(chosen.low), None
    said = chosen.said_unit or chosen.per
    canonical, factor = numbers.canonical_unit(said)
    value = chosen.low * factor if canonical == "斤" else chosen.low
    return plain(value), _unit_name(said)


def _in_unit(quantity: numbers.Quantity, unit: str) -> Decimal | None:
    """A stock amount restated in the price's unit, when they measure the same thing."""
    canonical, factor = numbers.canonical_unit(_said_unit_key(unit))
    if quantity.unit != canonical:
        return None
    return plain(quantity.value / factor)


def _said_unit_key(unit: str) -> str:
    reverse = {name: raw for raw, name in _UNIT_NAMES.items()}
    return unit if unit in numbers.WEIGHT_FACTORS or unit not in reverse else reverse[unit]


def _stock(quantities: list[numbers.Quantity], unit: str | None
           ) -> tuple[Decimal | None, str | None]:
    amounts = [q for q in quantities if not q.spec]
    if not amounts:
        return None, unit
    if unit is None:
        return plain(amounts[-1].value), amounts[-1].unit
    for quantity in reversed(amounts):
        value = _in_unit(quantity, unit)
        if value is not None:
            return value, unit
    return None, unit


# -- listings ---------------------------------------------------------------

def parse_listing(text: str, anywhere: bool = False, unit: str | None = None) -> ListingText:
    """Everything a one-shot listing message (or a form answer) states; never raises.

    anywhere: the message answers "what do you sell?", so goods need no sell cue.
    unit: the listing's unit so far; a stock said in another weight is restated in it.
    """
    try:
        return _parse_listing(text if isinstance(text, str) else "", anywhere, unit)
    except Exception:  # a strange message must not take the conversation down
        return ListingText()


def _parse_listing(text: str, anywhere: bool, unit: str | None) -> ListingText:
    norm = normalise(text[:MAX_CHARS])
    if not norm:
        return ListingText()
    nums = numbers.extract(norm, seller=True, names=lexicons.lexicon().products)
    price, said = _price(nums.prices)
    stock, unit = _stock(nums.quantities, said or unit)
    if said is None and stock is None:
        unit = None  # nothing in this message names a unit
    segments = _segmented(nums.rest)
    title, product = _goods(segments, norm, anywhere)
    region = resolve_place(_mentions([word for _, _, words in segments for word in words]))
    return ListingText(title=title, product=product, price=price, unit=unit, stock=stock,
                       origin=region_slot(region) if region else None)


def unit_of(text: str) -> str | None:
    """按斤卖, 一箱, 个: a unit named on its own."""
    norm = normalise(text[:40]).replace(" ", "")
    norm = re.sub(r"^(?:按|论|是|以|每|一|1)+", "", norm)
    norm = re.sub(r"(?:卖|算|计|来卖|的|吧|啊)+$", "", norm)
    if re.fullmatch(numbers.UNIT, norm) and norm not in numbers.VOLUME_UNITS:
        return _unit_name(norm)
    return None


def same_measure(unit: str, other: str) -> bool:
    """斤 and 公斤 measure alike (weights); 箱 and 斤 do not."""
    return unit == other or (numbers.canonical_unit(_said_unit_key(unit))[0] == "斤"
                             == numbers.canonical_unit(_said_unit_key(other))[0])


def convert(value: Decimal, unit: str, to: str) -> Decimal:
    """An amount in one weight unit restated in another (same_measure units only)."""
    _, factor = numbers.canonical_unit(_said_unit_key(unit))
    _, target = numbers.canonical_unit(_said_unit_key(to))
    return plain(value * factor / target)


def bare_number(text: str) -> Decimal | None:
    """A message that is only a number: 300, 三百, 3.5."""
    norm = normalise(text[:MAX_CHARS]).strip(" ,")
    if not re.fullmatch(numbers.NUM + r"(?:来|多)?", norm):
        return None
    return numbers.to_decimal(norm)


@lru_cache(maxsize=16_384)  # routers ask it of every message; the text decides
def _named_field(text: str, table: str, lead: str) -> tuple[str, str] | None:
    """(field, value) when the text starts with one of the table's field words, after an
    optional edit cue: 修改 价格 4元, 价格改成4块, 手机是138..., 名字改成老刘."""
    rest = re.sub(rf"^(?:{lead})\s*", "", normalise(text[:MAX_CHARS]))
    for field_name, words in _data()[table].items():
        word = next((w for w in sorted(words, key=len, reverse=True) if rest.startswith(w)), None)
        if word is None:
            continue
        value = rest[len(word):].strip(" ,:")
        cue = next((c for c in sorted(_data()["edit_cues"], key=len, reverse=True)
                    if value.startswith(c)), "")
        return field_name, value[len(cue):].strip(" ,:")
    return None


def field_edit(text: str) -> tuple[str | None, str]:
    """修改 价格 4元, 价格改成4块, 产地是赣州的: (the listing field named, its new value)."""
    named = _named_field(text, "fields", "修改|改一下|改下|我要改|要改|改")
    return named if named else (None, normalise(text[:MAX_CHARS]))


# -- management -------------------------------------------------------------

def _action(norm: str, has_price: bool, has_stock: bool) -> str | None:
    manage = _data()["manage"]

    def says(name: str) -> bool:
        return any(cue in norm for cue in manage[name])

    if says("photo"):
        return "photo"
    if says("sold_out") and not has_stock:
        return "sold_out"
    if says("delist"):
        return "delist"
    if says("relist") and not has_price and not has_stock:
        return "relist"
    if says("restock"):
        return "restock"
    if says("set_stock") and not has_price:
        return "set_stock"
    if has_price or says("reprice"):
        return "reprice"
    if has_stock:
        return "set_stock"
    return None


def _index_and_value(rest: str, action: str, known: bool) -> tuple[int | None, Decimal | None, str]:
    """2号 is an index. Bare numbers: one is the value of a command that needs one
    (补货 100) and the index of one that does not (下架 2); two are index and value."""
    match = _INDEX.search(rest)
    index = None
    if match:
        index = int(numbers.to_decimal(match.group("n")) or 0)
        rest = rest[: match.start()] + " " * (match.end() - match.start()) + rest[match.end():]
    bare = [Decimal(m.group()) for m in _BARE_NUMBER.finditer(rest)]
    needs_value = action in ("reprice", "restock", "set_stock") and not known
    value = None
    if index is None and bare and (len(bare) >= 2 or not needs_value):
        index = int(bare.pop(0))
    if needs_value and bare:
        value = bare[0]
    return index, value, rest


def parse_command(text: str) -> Command | None:
    """A management command, numbered (改价 2 12元) or natural (把脐橙的价格改成九块);
    None when it is none, or on anything unexpected."""
    try:
        return _parse_command(text if isinstance(text, str) else "")
    except Exception:  # a strange message must not take the conversation down
        return None


def _parse_command(text: str) -> Command | None:
    norm = normalise(text[:MAX_CHARS])
    if not norm or any(cue in norm for cue in _BUYER_GUARD):
        return None
    nums = numbers.extract(norm, seller=True, names=lexicons.lexicon().products)
    price, price_unit = _price(nums.prices)
    amounts = [q for q in nums.quantities if not q.spec]
    action = _action(norm, price is not None, bool(amounts))
    if action is None:
        return None
    known = price is not None if action == "reprice" else bool(amounts)
    index, value, rest = _index_and_value(nums.rest, action, known)
    if index is not None and not 0 < index <= 999:
        return None
    stock = None
    unit = price_unit
    if action in ("restock", "set_stock"):
        if amounts:
            stock, unit = plain(amounts[-1].value), amounts[-1].unit
            raw = _said_stock_unit(norm)
            if raw:
                unit = raw
                stock = _in_unit(amounts[-1], raw)
        else:
            stock = value
    if action == "reprice" and price is None:
        price = value
    product, surface = _named_goods(rest)
    return Command(action, index, product, surface, price if action == "reprice" else None,
                   unit, stock)


def _said_stock_unit(norm: str) -> str | None:
    """The unit a stock amount was said in (100公斤 stays 公斤)."""
    match = re.search(rf"{numbers.NUM}(?:来|多)?\s*(?P<unit>{numbers.UNIT})", norm)
    if not match:
        return None
    unit = match.group("unit")
    return _unit_name(unit) if unit in numbers.WEIGHT_FACTORS else None


def _named_goods(rest: str) -> tuple[str | None, str | None]:
    lex = lexicons.lexicon()
    words = segment.words(rest)
    found = [w for w in words if w in lex.products]
    if found:
        return lex.products[found[-1]], found[-1]
    junk = (_word_set("lead_words") | _word_set("tail_words") | _word_set("not_goods")
            | lexicons.words("stopwords.txt") | _manage_words())
    content = [w for w in words if w not in junk and not w.isdigit()]
    return None, ("".join(content) or None)


@cache
def _manage_words() -> frozenset[str]:
    words = {w for cues in _data()["manage"].values() for w in cues}
    words |= set(lexicons.table("intents.json")["update_listing"])
    words |= {"把", "给", "号", "第", "改", "成", "为", "到", "元", "块", "张", "图", "一下", "这个"}
    return frozenset(words)


def numbered_command(norm: str) -> tuple[dict[str, Any], frozenset[str]] | None:
    """For understand(): a command that names a listing number (下架 2, 给2号加图) is
    update_listing, never a choice among offers or a new listing."""
    if any(cue in norm for cue in _BUYER_GUARD):
        return None
    if not (_INDEX.search(norm) or _BARE_NUMBER.search(norm)):
        return None
    cues = sorted({c for cues in _data()["manage"].values() for c in cues}, key=len, reverse=True)
    bare = re.sub(r"\d+|号|第|给|把|\s", "", norm)
    numbered = _INDEX.search(norm) or re.match(r"^\D*\d", norm)
    if not numbered or not any(bare.startswith(c) or bare.endswith(c) for c in cues):
        return None
    command = parse_command(norm)
    if command is None or (command.index is None and not (
            command.action in ("set_stock", "restock") and command.stock is not None)):
        return None
    slots: dict[str, Any] = {} if command.index is None else {"index": command.index}
    if command.price is not None:
        slots.update(price_min=command.price, price_max=command.price)
    if command.stock is not None:
        slots["stock"] = command.stock
        if command.unit:
            slots["unit"] = command.unit
    return slots, frozenset({command.action})


# -- claims and profiles ----------------------------------------------------

def claim_code(text: str) -> str | None:
    """认领 K7P3QX → K7P3QX. Not the chat normaliser: it would fold a code's AAA to A."""
    plain_text = unicodedata.normalize("NFKC", text[:200]).strip().lower()
    match = _CLAIM.match(plain_text)
    return match.group("code").upper() if match else None


def _whole(text: str) -> str:
    return normalise(text[:MAX_CHARS]).replace(" ", "").replace(",", "")


def asks_for_profile(text: str) -> bool:
    return _whole(text) in _word_set("profile")


def is_skip(text: str) -> bool:
    return _whole(text).rstrip("吧了啊") in _word_set("skip")


def stops_profile(text: str) -> bool:
    """不填了, 别问了: no more profile questions (不填, 跳过 skip one)."""
    whole = _whole(text)
    return whole in _word_set("stop_profile") or whole.rstrip("吧啊") in _word_set("stop_profile")


def phone_number(text: str) -> tuple[str | None, bool]:
    """(mobile number, whether the text holds a number at all): 138 0013 8000 → 13800138000."""
    norm = normalise(text[:200])
    found = _DIGITS.search(norm.replace("+86", ""))
    if not found:
        return None, False
    digits = re.sub(r"\D", "", found.group())
    return (digits if _MOBILE.match(digits) else None), True


def mask_phone(phone: str | None) -> str:
    """138****0000: every reply shows a phone this way."""
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def profile_edit(text: str) -> tuple[str, str] | None:
    """名字改成老刘, 手机 13800138000, 地区是江西赣州: (profile field, value)."""
    named = _named_field(text, "profile_fields", "修改|改一下|改下|我要改|要改|改|我的")
    return named if named and named[1] else None


def banned_word(text: str, banned: frozenset[str]) -> str | None:
    """The first banned word the text contains, compared on normalised text."""
    norm = normalise(text[:MAX_CHARS]).replace(" ", "")
    return next((word for word in sorted(banned) if word and word in norm), None)


def with_defaults(listing: ListingText, **defaults: Any) -> ListingText:
    """Fill what the message left out (the profile's region as the default origin)."""
    return replace(listing, **{k: v for k, v in defaults.items() if getattr(listing, k) is None})
