"""understand(text, context) -> Understanding: the intent and slots of one message.

Pure: lexicons are loaded once (nlp.load at start-up); no I/O at call time.
The schema and examples are in nlp/README.md.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from decimal import Decimal
from typing import Any

from nlp import lexicon as lexicons
from nlp import goods, numbers, orders, segment, seller, shapes
from nlp.lexicon import Lexicon, Region, pinyin_of
from nlp.normalize import MAX_CHARS, normalise

INTENTS = ("search", "sell", "confirm", "cancel", "choose", "next_page", "refine", "my_orders",
           "my_listings", "update_listing", "help", "greeting", "thanks", "other")
_ORDINAL = r"[一二三四五六七八九十两\d]{1,3}"
_CHOOSE = re.compile(
    rf"第\s*(?P<a>{_ORDINAL})\s*(?:个|款|种|家|件|条|样|号)?"
    rf"|(?P<b>{_ORDINAL})\s*号(?!码|楼|线)"
    rf"|(?:要|买|选|拿)(?:那|这)?(?P<c>[一二三四五六七八九两])(?:个|款)(?!斤|箱|袋)")
_LATIN = re.compile(r"[a-z]+")
_DELIST = re.compile(r"^把.{1,12}(?:下了|撤了|停了)")
# With offers on screen, a bare number picks one: 2, 三, 要2.
_BARE_CHOICE = re.compile(r"^(?:要|选|买|拿)?\s*(?P<n>[1-9]|[一二三四五六七八九两])\s*(?:个|号)?\s*(?:吧|呀|啊)?$")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


@dataclass(frozen=True)
class Understanding:
    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    # Hints beyond the slot schema: cheaper, delist, restock.
    flags: frozenset[str] = frozenset()
    # Content words nothing in the lexicons explained, for a text search fallback.
    words: tuple[str, ...] = ()
    # Words the goods must show in their title: a modifier the lexicon lacks (白心 in
    # 白心火龙果) or an unknown compound read through its head (盐水鸭 is a 鸭子).
    qualifiers: tuple[str, ...] = ()
    # The word as written when goods came from correcting a typo (平果 for 苹果): a catalogue
    # whose titles have it shows the buyer meant it.
    corrected: str = ""
    # The goods as the buyer wrote them, request frame stripped (有金帅吗 → 金帅, 鹤庆乾酒
    # with its 乾 unconverted): what titles may show verbatim when every reading finds nothing.
    said: str = ""
    # What the clause before the last 的 says of the goods after it, when the goods are read
    # from after it (凉拌菜用的油, 不加碘的盐, 现剥的海胆): titles, tags or descriptions
    # showing it rank first; a negated one (不加碘) is a constraint.
    described: tuple[str, ...] = ()

    @property
    def terms(self) -> tuple[str, ...]:
        product = self.slots.get("product")
        return (product, *self.words) if product else self.words


@dataclass
class _Found:
    product: str | None = None
    surface: str | None = None
    category: str | None = None
    regions: list[Region] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    qualifiers: list[str] = field(default_factory=list)
    place: Region | None = None      # where the buyer is or wants it sent, not the origin
    nonfood: str | None = None       # 小米手机: a thing we do not sell
    corrected: str = ""              # the window a typo correction read as goods
    # A place name several regions have, by its position in regions: 昌江 is in 江西 and 海南.
    candidates: dict[int, list[Region]] = field(default_factory=dict)
    category_word: str = ""          # the category as written (肉 in 牦午肉)
    gift: bool = False               # goods for someone, as a present (送长辈, 孝敬父母)


def _cues(name: str) -> list[str]:
    return lexicons.table("intents.json")[name]


def _has(text: str, name: str) -> bool:
    return any(cue in text for cue in _cues(name))


def _scan(words: list[str], lex: Lexicon, stop: frozenset[str], text: str = "") -> _Found:
    found = _Found()
    goods_at, nonfood_at = -1, -1
    recipients = _recipients(words)
    for position, word in enumerate(words):
        compound = position > 0 and words[position - 1] == found.surface  # 土豆粉条 is 粉条
        if word in lex.products and (found.product is None or compound
                                     or _is_head(words, position)):
            if found.product in lex.specialties:
                origin = lex.regions.get(lex.specialties[found.product].origin)
                found.regions.extend(origin[:1] if origin else [])
            found.product, found.surface = lex.products[word], word
            goods_at = position
            _modifier(words, position, text, found)
        elif word in lex.categories and word not in lex.products and (
                found.category is None or _occasion_yields(word, found, lex)):
            found.category, found.category_word = lex.categories[word], word
            goods_at = position
            _modifier(words, position, text, found)
        elif word in lex.attributes:
            if lex.attributes[word] not in found.attributes:
                found.attributes.append(lex.attributes[word])
        elif word in lex.regions and len(word) > 1:
            if _names_the_buyers_place(words, position):
                found.place = found.place or lex.regions[word][0]
            else:
                found.regions.append(lex.regions[word][0])
                found.candidates[len(found.regions) - 1] = lex.regions[word]
        elif found.product is None and found.category is None and _class_word(word, lex, found):
            goods_at = position
        elif word in lex.nonfood or (position == goods_at + 1 and (
                word in lex.nonfood_heads or _material(words, position, lex))):
            nonfood_at = position
            found.unknown.append(word)  # 有没有卖化肥的 still asks to buy something
        elif position in recipients and _CJK_RUN.fullmatch(word):  # 长辈 in 送长辈的: no goods
            found.gift = found.gift or recipients[position]
        elif word not in stop and not word.isdigit() and word not in lex.products:
            found.unknown.append(word)
            if _nonfood_compound(word, lex) and not _goods_follow(words, position, lex):
                found.nonfood = word
    _resolve_places(found)
    if found.nonfood:  # 咖啡杯: a goods word written onto a thing we do not sell
        found.product = found.surface = found.category = None
        found.qualifiers.clear()
    elif 0 <= goods_at < nonfood_at or _goods_written_onto(words, nonfood_at, found, lex):
        # Head-final: in 小米手机 and 苹果电脑 the thing asked for is the last noun; so too
        # after a word the lexicon lacks that holds goods (葡萄籽 / 面霜).
        start = goods_at if goods_at >= 0 else nonfood_at - 1
        found.nonfood = "".join(words[start:nonfood_at + 1])
        found.product = found.surface = found.category = None
        found.qualifiers.clear()
    return found


def _nonfood_head(words: list[str], found: _Found, lex: Lexicon) -> None:
    """Head-final across 的 and unknown modifiers: when the last content word is a thing we
    do not sell, a goods word before it is its pattern, colour, country or use (石榴花图案的
    围巾, 蜂蜜色染发剂, 葡萄牙球衣, 樱桃键盘, 鸡蛋托盘), never the thing asked for."""
    if found.nonfood or not (found.product or found.category):
        return
    stop = _ignored_words()
    content = [n for n, word in enumerate(words)
               if word not in stop and not word.isdigit() and _CJK_RUN.fullmatch(word)]
    if len(content) < 2 or not _names_nonfood(words[content[-1]], lex):
        return
    start = next((n for n in content if _holds_goods(words[n], found, lex)), content[-1])
    if start == content[-1]:
        return
    found.nonfood = "".join(words[start:content[-1] + 1])
    found.product = found.surface = found.category = None
    found.qualifiers.clear()


def _purpose_apart(words: list[str], found: _Found) -> None:
    """做白切鸡的鸡, 做酸菜白肉用的肉, 熬粥的小米: a clause opened by a verb of use, before the
    的 that the goods follow, says what they are for: context that may rank, never words
    their titles must show (白心的火龙果 has no verb: 白心 stays)."""
    goods = {found.surface, found.category_word} - {None, ""}
    marks = [n for n, word in enumerate(words) if word == "的"
             and any(w in goods for w in words[n + 1:])]
    if not marks:
        return
    clause = words[:marks[-1]]
    verbs = _cues("purpose")
    if not any(word.startswith(verb) for word in clause for verb in verbs):
        return
    said = "".join(clause)
    found.qualifiers[:] = [q for q in found.qualifiers if q not in said]
    found.unknown[:] = [w for w in found.unknown if w not in clause]


_AMOUNT_CHARS = frozenset("一二两三四五六七八九十几半整每满")


def _names_nonfood(word: str, lex: Lexicon) -> bool:
    """A thing we do not sell: listed, or a word the lexicon lacks headed by such a thing's
    head character (托盘 by 盘, 球衣 by 衣); no goods, category, attribute or cut."""
    if word in lex.nonfood:
        return True
    if (len(word) < 2 or word in lex.products or word in lex.categories
            or word in lex.attributes or word in lex.cuts):
        return False
    # 整箱, 一盘: a pack or an amount of the goods, no thing of its own.
    return (word[-1] in lex.nonfood_heads and word[0] not in _AMOUNT_CHARS
            and not _ends_in_goods(word, lex, shortest=1))


def _holds_goods(word: str, found: _Found, lex: Lexicon) -> bool:
    """The word is, or holds, the goods the reading found (石榴 in 石榴花, 咖啡 in 咖啡色)."""
    names = {found.surface, found.category_word, found.product} - {None, ""}
    return any(name in word or word in name for name in names) or word in lex.products


def _occasion_yields(word: str, found: _Found, lex: Lexicon) -> bool:
    """过年送长辈的酒, 办公室零食: an occasion said first (a virtual category, 年货 / 月子) is
    context; a goods category named after it decides what is asked for."""
    return found.category in lex.virtual and lex.categories[word] not in lex.virtual


def _goods_written_onto(words: list[str], at: int, found: _Found, lex: Lexicon) -> bool:
    """Whether the word before a thing we do not sell is one the lexicon lacks that holds
    a product's name (葡萄籽 in 葡萄籽面霜, 玫瑰花 in 玫瑰花精油)."""
    if at < 1 or words[at - 1] not in found.unknown:
        return False
    before = words[at - 1]
    return any(before[i:j] in lex.products for i in range(len(before))
               for j in range(i + 2, len(before) + 1))


def _cues_apart(words: list[str]) -> list[str]:
    """孝敬老人: jieba keeps some idioms of a cue and whom it is for as one word; a cue of
    two characters or more (孝敬, 送给, 买给) at its start is read apart (孝敬 / 老人),
    so the person is occasion context. One character alone (送货, 给力) is not split."""
    cues = tuple(c for c in (*_cues("gift_to"), *_cues("for_whom")) if len(c) > 1)
    apart: list[str] = []
    for word in words:
        cue = next((c for c in cues if word.startswith(c) and len(word) > len(c)), None)
        cue = cue or _glued_buy_cue(word)
        if cue:
            apart.extend((cue, word[len(cue):]))
        elif _has_glued_after(word):
            apart.extend((word[0], word[1]))
        else:
            apart.append(word)
    return apart


def _has_glued_after(word: str) -> bool:
    """李广杏有吗, 泡泡青有吗: jieba writes 有 after the last character of goods (杏有, 青有);
    a word it does not know, and none of ours, is the goods' end and the cue."""
    lex = lexicons.lexicon()
    return (len(word) == 2 and word[1] == "有" and _is_hanzi(word[0])
            and not segment.frequency(word)
            and not any(word in table for table in (lex.products, lex.categories,
                                                    lex.attributes, lex.regions)))


def _flavours_joined(words: list[str], lex: Lexicon) -> list[str]:
    """蒜 / 香 / 红肠: goods with 香 after them, before other goods, say how those taste (蒜香,
    葱香, 奶香 as 五香 does): one word, no goods of its own."""
    joined: list[str] = []
    for n, word in enumerate(words):
        if (word == "香" and joined and joined[-1] in lex.products
                and n + 1 < len(words) and words[n + 1] in lex.products):
            joined[-1] += word
        else:
            joined.append(word)
    return joined


def _glued_buy_cue(word: str) -> str | None:
    """有鱼, 买鱼: jieba writes a one-character buy cue onto a one-character goods word; the
    word is then no typo (有鱼 sounds like 鱿鱼) but the cue and the goods."""
    lex = lexicons.lexicon()
    if (len(word) == 2 and word[0] in _cues("glued_buy")
            and (word[1] in lex.products or word[1] in lex.categories)
            and not any(word in table for table in (lex.products, lex.categories,
                                                    lex.attributes, lex.regions))):
        return word[0]
    return _glued_onto_unknown(word, lex)


def _glued_onto_unknown(word: str, lex: Lexicon) -> str | None:
    """要元蘑: jieba writes a buy cue onto goods it does not know either; when neither the whole
    nor the cue with the next character is a word it knows (有机菜 starts with 有机), and the
    rest ends in a head character or a product, the cue and the goods are apart."""
    rest = word[1:]
    if (len(word) < 3 or word[0] not in _cues("glued_buy") or segment.frequency(word)
            or segment.frequency(word[:2]) or rest in lex.regions):
        return None
    ends_in_goods = rest[-1] in lex.heads or any(rest[-n:] in lex.products for n in (1, 2))
    return word[0] if ends_in_goods else None


def _recipients(words: list[str]) -> dict[int, bool]:
    """送长辈的, 给老人买点, 孩子吃的: the person goods are for is occasion context, no word
    the offers must show. Positions of such words, and whether each is given as a present."""
    found: dict[int, bool] = {}
    for position, word in enumerate(words[:-1]):
        if word in _cues("gift_to") or word in _cues("for_whom"):
            found[position + 1] = word in _cues("gift_to")
        if words[position + 1].startswith(tuple(_cues("consumed_by"))):
            found.setdefault(position, False)
    return found


def _resolve_places(found: _Found) -> None:
    """A place name several regions share takes the one another mention agrees with (海南
    昌江 is 昌江黎族自治县); said alone, it is any of those of its level (昌江芒果: the 昌江 of
    江西 or of 海南), for which of them is meant nothing tells."""
    for position, candidates in found.candidates.items():
        others = [r for n, r in enumerate(found.regions) if n != position and not r.provinces]
        agreeing = [c for c in candidates if any(c.province == o.province for o in others)]
        level = [c for c in candidates if c.level == candidates[0].level
                 and c.level in ("city", "county") and not c.cities]
        if agreeing:
            found.regions[position] = agreeing[0]
        elif not others and len({c.province for c in level}) > 1:
            names = tuple(dict.fromkeys(c.county or c.city or c.name for c in level))
            found.regions[position] = Region(candidates[0].name, "area", None, counties=names)


def _class_word(word: str, lex: Lexicon, found: _Found) -> bool:
    """菌类, 鱼类, 茶类: goods named with 类 are those goods, a category word's category and a
    head character's generic (菌 → 蘑菇)."""
    stem = word[:-1]
    if len(word) < 2 or not word.endswith("类") or stem in lex.regions:
        return False
    head = lex.heads.get(stem)
    if stem in lex.products or (head and head.generics):
        found.product = found.surface = lex.products.get(stem) or head.generics[0]
    elif stem in lex.categories:
        found.category, found.category_word = lex.categories[stem], word
    else:
        return False
    return True


def _material(words: list[str], position: int, lex: Lexicon) -> bool:
    """苹果 / 木: a material cut off after goods, unless goods follow (鸡毛 / 菜)."""
    return words[position] in lex.materials and not _goods_follow(words, position, lex)


def _goods_follow(words: list[str], position: int, lex: Lexicon) -> bool:
    """The next word names goods: what went before qualifies them (鸡毛 / 菜 is a vegetable)."""
    after = words[position + 1] if position + 1 < len(words) else ""
    return after in lex.products or (after in lex.categories and after not in lex.nonfood)


def _nonfood_compound(word: str, lex: Lexicon) -> bool:
    """咖啡杯, 茶叶罐 ... a word the lexicon lacks whose head is a kind of thing we do not
    sell (杯 as in 杯子 and 茶杯) and whose modifier is goods; or goods with a material
    after them (核桃木, 鸭绒, 羊毛): the material, of which things are made."""
    if word in lex.products:
        return False
    material = next((m for m in lex.materials if word.endswith(m) and len(word) > len(m)), None)
    if material and _ends_in_goods(word[:-len(material)], lex, shortest=1):
        return True
    head = word[:-1] if word.endswith(("子", "儿")) else word
    if len(head) < 3 or head[-1] not in lex.nonfood_heads:
        return False
    return _ends_in_goods(head[:-1], lex, shortest=2)


def _ends_in_goods(modifier: str, lex: Lexicon, shortest: int) -> bool:
    """The modifier ends in a goods or category word of at least `shortest` characters."""
    return any(modifier[start:] in lex.products or modifier[start:] in lex.categories
               for start in range(len(modifier) - shortest + 1))


def _place_before_goods(words: list[str], found: _Found, lex: Lexicon) -> bool:
    """南安板鸭, 樟树港辣椒: a place written onto the goods, with no 的 between, may be part of
    their name rather than where they are from (南安板鸭 is made in 大余); so may one written
    onto a category word (雨花茶 is a 南京 tea, no tea of 长沙's 雨花区)."""
    return bool(found.regions) and any(
        word in lex.regions
        and words[n + 1] in (found.surface, found.category_word, *found.unknown)
        for n, word in enumerate(words[:-1]))


def _names_the_buyers_place(words: list[str], position: int) -> bool:
    """我在上海, 寄到广州, 人在成都, 收货地址在南京, 在北京…: the buyer's place, not the goods'
    origin."""
    before = "".join(words[max(0, position - 3):position])
    if any(before.endswith(cue) for cue in _cues("place")):
        return True
    if position > 0 and words[position - 1] in _cues("place_verb"):  # 发北京的羊排
        return True
    if position == 1 and words[0] == "在":  # 在北京，想买鸭子: a message opened by where one is
        return True
    return _place_then_request(words, position)


_HERE = ("这边", "这里", "这儿")  # 香港这边要米粉: where the buyer is


def _place_then_request(words: list[str], position: int) -> bool:
    """杭州收货, 香港这边要…, 广州能买…吗, 南京地址, 武汉的，买…: a place followed by a delivery
    word, by 这边 (not 这边的 and goods), or by 的 and a request is where the buyer is;
    武汉的热干面 (的 then goods) stays the origin."""
    after = "".join(words[position + 1:position + 3])
    cue = next((c for c in _cues("place_after") if after.startswith(c)), None)
    if cue is not None:  # 云南这边的普洱 (的 and goods after it) is the goods' side
        return not (cue in _HERE and after[len(cue):].startswith("的"))
    rest = words[position + 1:position + 3]
    # 有 is left out (广州的有吗 asks for goods from 广州), and the request must name goods
    # after it (广州的要两斤 picks the 广州 ones).
    return (len(rest) == 2 and rest[0] == "的" and rest[1][:1] in ("买", "要", "来", "订")
            and rest[1][1:] in ("", "点", "些") and len(words) > position + 3)


def _modifier(words: list[str], position: int, text: str, found: _Found) -> None:
    """白心火龙果, 千岛湖龙井: an unknown word written onto the goods word narrows it."""
    if position == 0:
        return
    before = words[position - 1]
    # 喝点白酒, 尝些, 买箱苹果: a verb with 点 or 些 ("some") or a measure word is no
    # modifier of the goods.
    measured = len(before) == 2 and before[-1] in numbers.COUNT_UNITS + ("斤",)
    if (before in found.unknown and len(before) > 1 and not before.isascii()
            and before[-1] not in "点些" and not measured and before + words[position] in text):
        found.unknown.remove(before)
        found.qualifiers.append(before)


def _read_elided(words: list[str], found: _Found, text: str) -> None:
    """冰糖心, 铁棍: a name whose generic was dropped (冰糖心苹果, 铁棍山药), even where jieba
    cuts a product from it (冰糖 / 心), is the one product it begins."""
    for position, word in enumerate(words):
        after = words[position + 1] if position + 1 < len(words) else ""
        options = [(word + after, (word, after))] if after else []
        if word != found.surface:  # a product said alone is that product (大红袍)
            options.append((word, (word,)))
        for start, used in options:
            if not (found.product is None or word == found.surface) or start not in text:
                continue
            if any(w not in found.unknown and w != found.surface for w in used):
                continue
            names = goods.elided(start)
            if names:
                found.product, found.surface = names, start
                found.unknown = [w for w in found.unknown if w not in used]
                return


def _bind_attribute_characters(words: list[str], found: _Found, lex: Lexicon, text: str) -> None:
    """硒砂瓜: one character of an attribute's wording (硒 of 富硒) that jieba cut from the
    name the buyer wrote it onto is part of that name, not a condition of its own."""
    for position, word in enumerate(words[:-1]):
        attribute = lex.attributes.get(word) if len(word) == 1 else None
        after = words[position + 1]
        if attribute is None or attribute not in found.attributes:
            continue
        qualifier = next((q for q in found.qualifiers if q.startswith(after)), None)
        if qualifier is None or word + qualifier not in text:
            continue
        found.qualifiers[found.qualifiers.index(qualifier)] = word + qualifier
        if not any(lex.attributes.get(w) == attribute for w in words if w != word):
            found.attributes.remove(attribute)
        return


def _read_unknown_by_head(words: list[str], found: _Found, lex: Lexicon, text: str) -> None:
    """When nothing else names goods, the first unknown word that reads as goods does. A
    head of one character jieba cut from its modifier is read with it (青皮 / 芒 is 青皮芒)."""
    for position, word in enumerate(words):
        if word not in found.unknown:
            continue
        after = words[position + 1] if position + 1 < len(words) else ""
        if len(after) == 1 and after in found.unknown and word + after in text:
            joined = [*words[:position], word + after, *words[position + 2:]]
            if _read_by_head(joined, position, found, lex):
                found.unknown.remove(word)
                found.unknown.remove(after)
                return
        start = _single_characters_before(words, position, lex)
        name = "".join(words[start:position + 1])
        if start < position and name in text:
            joined = [*words[:start], name, *words[position + 1:]]
            if _read_by_head(joined, start, found, lex):
                found.unknown[:] = [w for w in found.unknown if w not in words[start:position + 1]]
                return
        if _read_by_head(words, position, found, lex):
            found.unknown.remove(word)
            return


def _single_characters_before(words: list[str], position: int, lex: Lexicon) -> int:
    """冷 / 吃 / 兔: where jieba knows no word, it leaves single characters, cues among them;
    the run of them ending in a one-character head (兔, an animal) is one name (冷吃兔), from
    its first character that is no stopword, goods or place."""
    if len(words[position]) != 1 or not (words[position] in lex.meat or words[position] in lex.heads):
        return position
    stop = _ignored_words()
    start = position
    while start > 0 and len(words[start - 1]) == 1 and _is_hanzi(words[start - 1]) \
            and words[start - 1] not in ("的", "和", "或"):
        start -= 1
    while start < position and (words[start] in stop or words[start] in lex.products
                                or words[start] in lex.regions):
        start += 1
    return start if position - start >= 2 else position


def _read_by_head(words: list[str], position: int, found: _Found, lex: Lexicon) -> bool:
    """A word the lexicon lacks, read head-final: 盐水鸭 is a 鸭子, 滩羊 is 羊肉, 牛腱子 is
    牛肉 (a cut of an animal is its meat), 后腿肉 is meat. The word must then show in the
    title of what is offered."""
    word = words[position]
    cuts = lex.cuts.get(word)
    if cuts:
        animal = word[0] if word[0] in lex.meat else (
            words[position - 1][-1] if position and words[position - 1][-1] in lex.meat
            else goods.only_animal(cuts))
        fitting = [c for c in cuts if animal in c.animals and c.product]
        if fitting:
            found.product = found.surface = lex.products.get(fitting[0].product,
                                                              fitting[0].product)
            return True
        # 牛腱 keeps its animal: 腱 alone is no wording of the cut, and titles say 牛腱子 or 腱子肉.
        # The animal is dropped only where the rest names the same cut: 猪颈肉 is the pork
        # cut also titled 松板肉, which 颈肉 (a neck of any animal) is not.
        rest = word[1:]
        qualifier = rest if (animal and word[0] == animal and rest in lex.cuts
                             and any(c in cuts for c in lex.cuts[rest])) else word
        if animal:
            found.product, found.surface = lex.meat[animal], word
        else:
            found.category, found.surface = lex.categories.get("肉", "肉类"), word
        found.qualifiers.append(qualifier.removesuffix("肉") or qualifier)
        return True
    if len(word) < 2 or word.isascii():
        return False
    if word[-1] in lex.meat and lex.meat[word[-1]] in lex.products:
        generic = lex.products.get(word + "肉") or lex.whole.get(word[-1]) or lex.meat[word[-1]]
    else:
        head = lex.heads.get(word[-1])
        if head is None or not head.generics or any(word.endswith(e) for e in head.exceptions):
            return _read_by_category(word, found, lex)
        generic = head.generics[0]
    found.product, found.surface = generic, word
    found.qualifiers.append(word)
    return True


def _name_across_product(words: list[str], found: _Found, lex: Lexicon, text: str) -> None:
    """梨 / 山茶: a product word jieba split from an unknown word that ends in a category
    word is one name of that category (梨山茶 is a tea named by its mountain, no pear)."""
    if not found.product or found.surface not in words:
        return
    at = words.index(found.surface)
    after = words[at + 1] if at + 1 < len(words) else ""
    name = found.surface + after
    if after not in found.unknown or name in lex.products or name not in text:
        return
    probe = _Found()
    if _read_by_category(name, probe, lex) and probe.qualifiers == [name]:
        found.unknown.remove(after)
        found.product = found.surface = None
        found.category, found.category_word = probe.category, probe.category_word
        found.qualifiers.append(name)


def _read_by_category(word: str, found: _Found, lex: Lexicon) -> bool:
    """黄茶, 黄金瓜: an unknown word ending in a category word is goods of that category,
    whose titles must show the word."""
    for start in range(1, len(word)):
        ending = word[start:]
        if ending in lex.categories and ending not in lex.products:
            found.category, found.category_word = lex.categories[ending], ending
            found.qualifiers.append(word)
            return True
    return False


def _is_head(words: list[str], position: int) -> bool:
    """In 云南普洱的咖啡 the noun after 的 is what is wanted."""
    return position >= 2 and words[position - 1] == "的"


def _homophone_region(words: list[str], found: _Found, lex: Lexicon) -> None:
    """平果有吗: a place name that sounds like a product, asked for alone, is the product."""
    if found.product or found.category or len(found.regions) != 1:
        return
    name = found.regions[0]
    for surface in (name.name, *[s for s, rs in lex.regions.items() if name in rs][:3]):
        canonical = lex.pinyin.get(pinyin_of(surface))
        if canonical and canonical != surface and set(surface) & set(canonical):
            found.product, found.surface, found.regions = canonical, surface, []
            found.corrected = surface
            return
    _homophone_after_place(words, found, lex)


def _homophone_after_place(words: list[str], found: _Found, lex: Lexicon) -> None:
    """沙田油: a product named after a place (沙田柚), its place written right and the rest
    by sound, is that product: the window from the place on sounds like a name that begins
    with the place as written."""
    for position, word in enumerate(words):
        if word not in lex.regions or position + 1 >= len(words):
            continue
        after = words[position + 1]
        if after not in found.unknown:
            continue
        sound = pinyin_of(word + after)
        said = lex.pinyin_surface.get(sound, "")
        if said.startswith(word) and said != word + after:
            found.product, found.surface, found.regions = lex.pinyin[sound], word + after, []
            found.corrected = word + after
            found.unknown.remove(after)
            return


def _unexplained(words: list[str], found: _Found, lex: Lexicon) -> str:
    """The text with every word the lexicons explained blanked (cuts of meat included): a
    typo is looked for in what is left, never across a place name (南京盐水鸭 has no 京盐).
    A one-character stopword jieba cut off an unknown word stays with it: the typo may be
    that character (折耳跟 is 折耳 / 跟, and 跟 is a stopword). Things we do not sell are
    no typos."""
    def unknown(word: str) -> bool:  # a thing we do not sell is no typo (香薰 is no 香菇)
        return (word in found.unknown and word not in lex.cuts
                and word not in lex.nonfood) or word.isascii()

    stop = _ignored_words()

    def clings(at: int) -> bool:
        word = words[at]
        return (len(word) == 1 and _is_hanzi(word)
                and word in stop and word not in lex.products
                and any(0 <= near < len(words) and unknown(words[near])
                        and all(_is_hanzi(c) for c in words[near])
                        for near in (at - 1, at + 1)))
    return "".join(word if unknown(word) or clings(at) else " "
                   for at, word in enumerate(words))


def _correct_typo(text: str, found: _Found, lex: Lexicon) -> None:
    """Homophones and whole pinyin (平果 and pingguo mean 苹果), then shapes (猕猴挑)."""
    latin = "".join(_LATIN.findall(text))
    for candidate in (latin, *_LATIN.findall(text)):
        if len(candidate) >= 4 and candidate in lex.pinyin:
            found.product = found.surface = lex.pinyin[candidate]
            found.corrected = candidate  # zhusun may mean 竹荪 as well as 竹笋
            found.unknown = [w for w in found.unknown if not _LATIN.fullmatch(w)]
            return
    for run in _CJK_RUN.findall(text):
        cuts = _inside_words(run)
        for size in (4, 3, 2):
            for start in range(len(run) - size + 1):
                window = run[start:start + size]
                if _cuts(cuts, start, start + size):
                    continue
                sound = pinyin_of(window)
                canonical = lex.pinyin.get(sound)
                # The name said so may be another name of the product (沙田柚, a 柚子).
                said = lex.pinyin_surface.get(sound, "")
                if (canonical and set(window) & set(said) and window not in lex.regions
                        and _keeps_known_words(window, said, lex)):
                    _corrected(found, canonical, window)
                    return
                category = lex.category_pinyin.get(sound)  # 茶页 is 茶叶, but 茶叶罐 no 茶叶
                if (category and category != window and set(window) & set(category)
                        and window not in lex.regions):
                    found.category, found.category_word = lex.categories[category], window
                    found.unknown = [w for w in found.unknown if w not in window]
                    return
    _correct_shape(text, found, lex)
    if not found.product:
        _correct_fuzzy_sound(text, found, lex)


def _correct_before_category(found: _Found, lex: Lexicon) -> None:
    """牦午肉: an unknown word written onto a category word may be a typo of a product
    ending in that word; the typo is looked for across both, and must take both whole."""
    qualifier = found.qualifiers[-1]
    probe = _Found(unknown=[qualifier])
    _correct_typo(qualifier + found.category_word, probe, lex)
    # Only a correction of the whole of both counts: 鹿苑茶 is a tea titled 鹿苑茶, no
    # 花茶 with 鹿 left over (苑 looks like 花).
    if probe.product and probe.surface == qualifier + found.category_word:
        found.product, found.surface, found.category = probe.product, probe.surface, None
        found.qualifiers.remove(qualifier)


def _correct_before_product(found: _Found, lex: Lexicon, text: str) -> None:
    """小笼虾: an unknown word written onto a goods word may, with it, be a typo of another
    product (小龙虾); only a correction of the whole of both counts."""
    qualifier, surface = found.qualifiers[-1], found.surface or ""
    if qualifier + surface not in text:
        return
    probe = _Found(unknown=[qualifier])
    _correct_typo(qualifier + surface, probe, lex)
    if probe.product and probe.product != found.product and probe.surface == qualifier + surface:
        found.product, found.surface, found.corrected = probe.product, probe.surface, probe.corrected
        found.qualifiers.remove(qualifier)


def _is_hanzi(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


def _correct_after_product(found: _Found, lex: Lexicon, text: str) -> None:
    """鱿鱼千: a character left unknown right after a goods word may, with it, be a typo
    of a longer name (鱿鱼干); only a correction of the whole of both counts. 黄冠离: a
    character said like the last of the generic a variety is a kind of (离 and 梨) is
    that generic's head written by sound."""
    surface = found.surface or ""
    for after in [w for w in found.unknown if len(w) == 1]:
        if surface + after not in text:
            continue
        generic = next((g for g in goods.generics_of(surface) if g[-1] != after
                        and lexicons.char_sounds(after) & lexicons.char_sounds(g[-1])), None)
        if generic:  # 黄冠离 is 黄冠梨: a 梨 whose title shows 黄冠
            found.product, found.surface = lex.products.get(generic, generic), surface + after
            found.corrected = surface + after
            found.qualifiers.append(surface)
            found.unknown.remove(after)
            return
        probe = _Found(unknown=[after])
        _correct_shape(surface + after, probe, lex)  # its sound is the goods word's own
        if probe.product and probe.surface == surface + after:
            found.product, found.surface, found.corrected = (
                probe.product, probe.surface, probe.corrected)
            found.unknown.remove(after)
            return


def _written_whole(window: str, unknown: list[str], text: str) -> str:
    """净皮甜 read as 陈皮 + 甜: the word as the buyer wrote it is the window with the unknown
    words written onto it, so that titles showing the whole word (临潼 石榴 净皮甜) are what
    was meant, no typo."""
    whole = window
    for word in (w for w in unknown if _CJK_RUN.fullmatch(w) or _is_hanzi(w)):
        if whole + word in text:
            whole += word
        elif word + whole in text:
            whole = word + whole
    return whole


def _corrected(found: _Found, canonical: str, window: str) -> None:
    found.product, found.surface = canonical, window
    found.corrected = "" if window in lexicons.lexicon().products else window
    found.unknown = [w for w in found.unknown if w not in window and window not in w]


# A window that is itself a word people write (木本, 本地) is no typo.
_RARE_WORD = 5


def _typo_windows(text: str, lex: Lexicon) -> Iterator[str]:
    """Where a typo may hide: windows of 4, 3, then 2 characters of each Chinese run that
    are rare as words, name no region, and cut no word the run holds."""
    for run in _CJK_RUN.findall(text):
        cuts = _inside_words(run)
        for size in (4, 3, 2):
            for start in range(len(run) - size + 1):
                window = run[start:start + size]
                if not (segment.frequency(window) > _RARE_WORD or window in lex.regions
                        or _cuts(cuts, start, start + size)):
                    yield window


def _correct_shape(text: str, found: _Found, lex: Lexicon) -> None:
    """Typos of shape (形近字): 猕猴挑 → 猕猴桃, 木茸 → 木耳, 荔技 → 荔枝."""
    for window in _typo_windows(text, lex):
        candidates = [c for c in shapes.lookalike_products(window)
                      if _keeps_known_words(window, c, lex)]
        if candidates:
            # One sharing a distinctive component with the typo first (抽子 is 柚子, whose 由
            # it has, not 拐子); then the word people write most often is the likelier one
            # (红糠 is 红糖 rather than 红米, 木茸 木耳 rather than 松茸).
            best = max(candidates, key=lambda c: (shapes.share_a_distinctive_part(window, c),
                                                  segment.frequency(c),
                                                  shapes.closeness_in(window, c)))
            _corrected(found, lex.products[best], window)
            return


def _correct_fuzzy_sound(text: str, found: _Found, lex: Lexicon) -> None:
    """Sounds many speakers merge (党生 for 党参: sheng and shen; 洋冲 for 洋葱: chong and
    cong): a rare window one character from a product name, that character said alike
    once merged sounds fold together (nlp.lexicon.fuzzy_syllable), one product only."""
    for window in _typo_windows(text, lex):
        candidates = {surface for position, surface in shapes.one_apart(window)
                      if _sounds_alike(window[position], surface, position)
                      and _keeps_known_words(window, surface, lex)}
        if len({lex.products[c] for c in candidates}) == 1:
            _corrected(found, lex.products[candidates.pop()], window)
            return


def _sounds_alike(char: str, surface: str, position: int) -> bool:
    """Whether a character sounds like the one at position in a name as the name is said,
    merged sounds folded together."""
    syllables = lexicons.spoken_syllables(surface)
    return len(syllables) == len(surface) and syllables[position] in lexicons.char_sounds(char)


def _keeps_known_words(window: str, surface: str, lex: Lexicon) -> bool:
    """A correction replaces only characters that are no word of the lexicon themselves:
    黄茶 is no typo of 黄花, 茶 being a word we know."""
    return all(a == b or (a not in lex.products and a not in lex.categories)
               for a, b in zip(window, surface))


def _inside_words(run: str) -> list[tuple[int, int]]:
    """Spans of words people write (熊猫 in 熊猫肉): a typo window may lie inside one, but
    never takes part of one with another word (猫肉 is not read as 猪肉)."""
    spans = []
    offset = 0
    for word in segment.words(run):
        if len(word) > 1 and segment.frequency(word) > _RARE_WORD:
            spans.append((offset, offset + len(word)))
        offset += len(word)
    return spans


def _cuts(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any((low < start < high or low < end < high) and not (low <= start and end <= high)
               for low, high in spans)


_LATIN_RUN = re.compile(r"[a-z][a-z'-]*(?: [a-z][a-z'-]*)*")
_PHRASE = 3


def _from_english(text: str) -> str:
    """want some honey, 有kiwi吗, 来点green tea: English names of goods become ours."""
    if not _LATIN.search(text):
        return text
    return _LATIN_RUN.sub(lambda match: _english_run(match.group(0)), text)


def _english_run(run: str) -> str:
    words, out, start = run.split(), [], 0
    while start < len(words):
        for size in range(min(_PHRASE, len(words) - start), 0, -1):
            word = _english_word(" ".join(words[start:start + size]))
            if word:
                out.append(f" {word} ")
                start += size
                break
        else:
            out.append(words[start])
            start += 1
    return " ".join(out)


def _english_word(phrase: str) -> str | None:
    """A name as listed, or its singular (berries → berry, tomatoes → tomato, eggs → egg)."""
    english = lexicons.lexicon().english
    return next((english[s] for s in lexicons.singulars(phrase) if s in english), None)


def _choose(text: str) -> tuple[int | None, str]:
    match = _CHOOSE.search(text)
    if not match:
        return None, text
    if match.group("b") and _names_goods_before(text[:match.start()]):
        return None, text  # 青薯9号, 户太八号: a numbered variety, no choice
    raw = match.group("a") or match.group("b") or match.group("c")
    value = numbers.to_decimal(raw)
    if value is None or not 0 < value <= 50:
        return None, text
    return int(value), text[: match.start()] + " " + text[match.end():]


def _names_goods_before(text: str) -> bool:
    """The text ends in a goods word written right onto what follows (青薯 in 青薯9号)."""
    products = lexicons.lexicon().products
    return any(text[-size:] in products for size in range(2, 6) if len(text) >= size)


def _price_slots(prices: list[numbers.Price]) -> dict[str, Any]:
    slots: dict[str, Any] = {}
    for price in prices:
        if price.low is not None and "price_min" not in slots:
            slots["price_min"] = price.low
        if price.high is not None and "price_max" not in slots:
            slots["price_max"] = price.high
        if price.per and "price_per" not in slots:
            slots["price_per"] = price.per
    return slots


def _amount_slots(nums: numbers.Numbers, stock: bool) -> dict[str, Any]:
    slots = _price_slots(nums.prices)
    amounts = [q for q in nums.quantities if not q.spec]
    if amounts:
        amount = amounts[-1] if stock else amounts[0]
        slots["stock" if stock else "quantity"] = amount.value
        slots["unit"] = amount.unit
        if amount.high is not None and not stock:
            slots["quantity_max"] = amount.high
    return slots


_DEPTH = {"province": 0, "area": 1, "city": 2, "county": 3}


def _most_specific(regions: list[Region]) -> Region:
    """重庆奉节 is 奉节县: a later, deeper region inside the first one wins."""
    first = regions[0]
    inside = [r for r in regions if r.province == first.province and not r.provinces]
    return max(inside or [first], key=lambda r: _DEPTH.get(r.level, 0))


def _entity_slots(found: _Found) -> dict[str, Any]:
    slots: dict[str, Any] = {}
    if found.nonfood:
        slots["nonfood"] = found.nonfood
    if found.product:
        slots["product"] = found.product
    elif found.category:
        slots["category"] = found.category.rpartition("/")[2]
    if found.regions:
        slots["origin"] = _most_specific(found.regions).slot()
    if found.attributes:
        slots["attributes"] = list(found.attributes)
    if found.place:
        slots["buyer_city"] = found.place.name
    return slots


def _decide(norm: str, found: _Found, nums: numbers.Numbers, index: int | None,
            context: dict[str, Any]) -> tuple[str, frozenset[str]]:
    has_goods = bool(found.product or found.category)
    constraints = bool(found.regions or found.attributes or nums.prices)
    if index is not None:
        return "choose", frozenset()
    if _updates_listing(norm, found):
        flags = {flag for flag in ("delist", "restock") if _has(norm, flag)}
        if _DELIST.search(norm):
            flags.add("delist")
        return "update_listing", frozenset(flags or ({"reprice"} if nums.prices else set()))
    if _has(norm, "my_listings"):
        return "my_listings", frozenset()
    if _has(norm, "sell") or norm.lstrip().startswith(("卖", "出售")):
        return "sell", frozenset()
    if _has(norm, "cancel") and not has_goods:
        return "cancel", frozenset()
    if _has(norm, "my_orders") and (not has_goods or _has(norm, "order_strong")):
        return "my_orders", frozenset()
    if _has(norm, "cheaper") and not found.product:
        return "refine", frozenset({"cheaper"})
    if _has(norm, "next_page") and not has_goods and not constraints:
        return "next_page", frozenset()
    if has_goods or found.nonfood:
        return "search", frozenset()
    if constraints and not found.unknown:
        return "refine", frozenset()
    if _has(norm, "help"):
        return "help", frozenset()
    if _has(norm, "confirm") and not found.unknown:
        return "confirm", frozenset()
    asks_to_buy = _has(norm, "buy") and bool(found.unknown)
    for intent in ("thanks", "greeting"):
        if _has(norm, intent) and not asks_to_buy:
            return intent, frozenset()
    if asks_to_buy or (found.unknown and constraints):
        return "search", frozenset()
    if constraints:
        return "refine", frozenset()
    return "other", frozenset()


_PARTICLES = re.compile(r"[\W_吗呢吧啊呀嘛]+")
# 有泡泡青吗, 泡泡青有没有: asking whether it is sold says no more than the word alone.
_ASKING = re.compile(r"^(有没有|有|还有)|(有没有|还有|有)$")


_UNSAID = re.compile(r"[\s\W_]+")
_CJK_ONLY = re.compile(r"[\u4e00-\u9fff]{2,8}")


def _unframed(text: str) -> str:
    """A message less the request frame around it (有…吗, 找个…, 想买…, …有没有) and its
    particles: what remains is what was asked for, if anything."""
    for _ in range(2):  # 请问有 … 吗: a frame, then particles left before it
        text = _PARTICLES.sub("", text)
        before = next((c for c in _frames("frame_before") if text.startswith(c)), "")
        after = next((c for c in _frames("frame_after") if text.endswith(c)), "")
        if len(text) - len(before) - len(after) < 2:
            break
        text = text[len(before):len(text) - len(after)]
    return _PARTICLES.sub("", text)


@cache
def _frames(name: str) -> tuple[str, ...]:
    return tuple(sorted(_cues(name), key=len, reverse=True))  # the longest frame first


def said_as_written(text: str) -> str:
    """The goods as written, before normalising (鹤庆乾酒 keeps 乾, which reads as 干;
    spaces go, as sellers put them where buyers do not): the unframed message when it is
    2–8 Chinese characters and nothing else, else ''."""
    raw = _UNSAID.sub("", unicodedata.normalize("NFKC", text[:40]).lower())
    word = _unframed(raw)
    return word if _CJK_ONLY.fullmatch(word) else ""


def _names_goods_alone(found: _Found, norm: str) -> bool:
    """菱角, 藠头: a message that is one word the lexicons lack may ask for it as goods
    (你们是骗子吧 says more): it is `other` with the `noun` flag, shown as goods only when
    sellers' titles have it, so chatter (天气, 哈哈) stays chatter. A name jieba cuts in
    two (坦洋工夫: 坦洋 / 工夫), or written with 的 between (无核的黄皮), is one word
    too. A word holding goods words was read by them already and found to be none
    (茶叶罐)."""
    if not found.unknown:
        return False
    word = "".join(found.unknown)
    lex = lexicons.lexicon()
    if any(word[i:j] in lex.products or word[i:j] in lex.categories
           for i in range(len(word)) for j in range(i + 2, len(word) + 1)):
        return False
    said = _ASKING.sub("", _PARTICLES.sub("", norm.replace("的", "")))
    if said != word:  # 有金帅吗, 来点金帅: jieba wrote the frame onto the word (有金帅)
        said, word = _unframed(norm.replace("的", "")), _unframed(word)
    return 2 <= len(word) <= 6 and said == word and bool(_CJK_RUN.fullmatch(word))


def _updates_listing(norm: str, found: _Found) -> bool:
    """改价, 补货, 下架 ... but not a buyer asking 有没有降价的."""
    if any(cue in norm for cue in ("有没有", "买", "吗")):
        return False
    if _has(norm, "update_listing") or _DELIST.search(norm):
        return True
    return bool(found.product) and (_has(norm, "delist") or _has(norm, "restock"))


def _sold_product(norm: str, found: _Found, lex: Lexicon) -> None:
    """新米上市了，我要卖大米: the goods named after the sell cue are what is for sale."""
    cue = next((c for c in _cues("sell") if c in norm), None)
    if cue is None:
        return
    after = norm[norm.index(cue) + len(cue):]
    for word in segment.words(after):
        if word in lex.products:
            found.product, found.surface = lex.products[word], word
            return


def _seller_message(norm: str) -> bool:
    return _has(norm, "sell") or _has(norm, "update_listing") or norm.lstrip().startswith("卖")


def _whole_message(norm: str) -> str | None:
    whole = norm.replace(" ", "").replace(",", "")
    if whole not in _cues("confirm_whole") and whole.rstrip("的吧啊呀哈嘛了") in _cues("confirm_whole"):
        whole = whole.rstrip("的吧啊呀哈嘛了")  # ok的, 好吧
    half = len(whole) // 2
    if len(whole) % 2 == 0 and whole[:half] == whole[half:] and whole not in _cues("confirm_whole"):
        whole = whole[:half]  # 好的好的
    if whole in _cues("confirm_whole"):
        return "confirm"
    if whole in _cues("cancel_whole"):
        return "cancel"
    return None


def understand(text: str, context: dict[str, Any] | None = None) -> Understanding:
    """Never raises: anything unexpected is understood as 'other'."""
    try:
        text = text if isinstance(text, str) else ""
        return _head_final(text, _understand(text, context or {}), context or {})
    except Exception:  # a bad message must never take the conversation down
        return Understanding("other")


# Words of a clause before 的 that say nothing of the goods: verbs of use, recipients.
_CLAUSE_FILLER = frozenset({"用", "的", "喝", "吃", "给", "带", "回去", "用来", "拿来"})


def _head_final(text: str, whole: Understanding, context: dict[str, Any]) -> Understanding:
    """Chinese is head-final across 的: the goods word after the last 的 is what is asked
    for (凉拌菜用的油 is oil, 淡干无盐的虾皮 is 虾皮, 不加碘的盐 salt); the clause before it
    describes them. Read so when the whole message reads other goods or none, and the words
    after 的 alone read as goods."""
    norm = normalise(text[:MAX_CHARS])
    if ("的" not in norm or whole.intent not in ("search", "refine", "other")
            or whole.slots.get("nonfood")):  # 石榴花图案的围巾: a thing we do not sell
        return whole
    head, _, tail = norm.rpartition("的")
    if not head.strip() or len(tail.strip()) < 1:
        return whole
    alone = _understand(tail, context)
    goods = {k: alone.slots[k] for k in ("product", "category") if k in alone.slots}
    noun = "noun" in alone.flags and "noun" not in whole.flags
    if not noun and (alone.intent != "search" or not goods
                     or set(alone.slots) - {"product", "category"}):
        return whole
    described = tuple(w for w in _negations_bound(segment.words(head))
                      if len(w) >= 2 and w not in _CLAUSE_FILLER and _CJK_RUN.fullmatch(w))
    if not noun and whole.intent == "search" and all(
            whole.slots.get(k) == v for k, v in goods.items()):
        # The same goods read either way (云南的苹果, 白心的火龙果): the whole reading
        # stands; words of the clause it left unexplained (不 加碘) still describe them.
        left = tuple(w for w in described if any(u in w for u in whole.words))
        return replace(whole, described=left) if left else whole
    extra = {k: v for k, v in whole.slots.items() if k not in ("product", "category")}
    if not described or noun and extra:  # 东北的黄皮: a place and a noun; the place stands
        return whole
    return Understanding(alone.intent, {**extra, **alone.slots}, alone.flags, alone.words,
                         alone.qualifiers, alone.corrected, alone.said, described)


def _negations_bound(words: list[str]) -> list[str]:
    """不 加碘 → 不加碘, 没有 添加剂 → 没有添加剂: a negation is part of what it negates, so
    that the thing negated is never read as asked for."""
    bound: list[str] = []
    for word in words:
        if bound and bound[-1] in _NEGATION_WORDS:
            bound[-1] += word
        else:
            bound.append(word)
    return bound


_NEGATION_WORDS = frozenset({"不", "无", "未", "没", "没有", "不要", "不含", "免", "零"})


def _understand(text: str, context: dict[str, Any]) -> Understanding:
    norm = _from_english(normalise(text[:MAX_CHARS]))
    if not norm:
        return Understanding("other")
    command = orders.parse(norm)  # 订单 N, 取消订单 N, 发货 N 顺丰SF…: see nlp/orders.py
    if command:
        return Understanding("my_orders", command)
    simple = _whole_message(norm)
    if simple:
        return Understanding(simple)
    bare = _BARE_CHOICE.match(norm) if context.get("page") else None
    if bare:
        return Understanding("choose", {"index": int(numbers.to_decimal(bare.group("n")) or 0)})
    numbered = seller.numbered_command(norm)  # 下架 2, 给2号加图: a listing number, not a choice
    if numbered:
        return Understanding("update_listing", *numbered)
    lex = lexicons.lexicon()
    index, rest = _choose(norm)
    nums = numbers.extract(rest, seller=_seller_message(rest), names=lex.products)
    words = _flavours_joined(_cues_apart(segment.words(nums.rest)), lex)
    found = _scan(words, lex, _ignored_words(), nums.rest)
    _read_elided(words, found, nums.rest)
    _name_across_product(words, found, lex, nums.rest)
    if found.category and not found.product and found.qualifiers and found.category_word:
        _correct_before_category(found, lex)
    elif found.product and found.qualifiers and found.surface:
        _correct_before_product(found, lex, nums.rest)
    if found.product and found.surface and found.unknown and not found.corrected:
        _correct_after_product(found, lex, nums.rest)
    if not found.product and not found.category and not found.nonfood:
        _correct_typo(_unexplained(words, found, lex), found, lex)
        if "的" not in norm:
            _homophone_region(words, found, lex)
    if not found.product and not found.category and not found.nonfood:
        _read_unknown_by_head(words, found, lex, nums.rest)
    if found.corrected:
        found.corrected = _written_whole(found.corrected, found.unknown, nums.rest)
    _bind_attribute_characters(words, found, lex, nums.rest)
    _nonfood_head(words, found, lex)
    _purpose_apart(words, found)
    present = found.gift or lex.attributes["送礼"] in found.attributes
    if present and not found.product and found.category in _festivals():
        found.category = None  # 中秋节送人: any present for it, not only what is eaten then
    if found.gift and not (found.product or found.attributes or found.nonfood) and (
            found.category is None or found.category in lex.virtual):
        # 送客户的: a present, nothing else named; 过年送亲戚: a season's goods (年货, a
        # virtual category) given as a present are presents of that season.
        found.attributes.append(lex.attributes["送礼"])
    intent, flags = _decide(norm, found, nums, index, context)
    if _place_before_goods(words, found, lex):
        flags = flags | {"place_named"}
    slots = _entity_slots(found) if intent not in ("confirm", "cancel", "next_page") else {}
    slots.update(_amount_slots(nums, stock=intent in ("sell", "update_listing")))
    if intent == "choose":
        slots["index"] = index
    if intent == "sell":
        _sold_product(norm, found, lex)
        if found.surface:
            slots.update(product=found.product, title=found.surface)
    if intent in ("help", "greeting", "thanks", "other", "my_orders", "my_listings"):
        slots = {}
    searching = intent in ("search", "refine")
    words = tuple(found.unknown) if searching else ()
    if intent == "other" and _names_goods_alone(found, norm):
        flags, words = flags | {"noun"}, (_unframed("".join(found.unknown)),)
    has_goods = "product" in slots or "category" in slots
    qualifiers = tuple(found.qualifiers) if searching and has_goods else ()
    corrected = found.corrected if searching and slots.get("product") == found.product else ""
    # Goods as written: a message of goods alone (amounts and prices say more).
    plain = not (nums.prices or nums.quantities)
    said = said_as_written(text) if plain and (searching or "noun" in flags) else ""
    return Understanding(intent, slots, flags, words, qualifiers, corrected, said)


@cache
def _festivals() -> frozenset[str]:
    return frozenset(lexicons.table("categories.json").get("festivals", ()))


_NOT_CUES = ("standalone", "purpose", "frame_before", "frame_after")


@cache
def _ignored_words() -> frozenset[str]:
    """Stopwords and intent cues are never product words."""
    table = lexicons.table("intents.json")
    cues = frozenset(cue for name, cues in table.items() if isinstance(cues, list)
                     and name not in _NOT_CUES for cue in cues)
    return lexicons.words("stopwords.txt") | cues


def as_json(understanding: Understanding) -> dict[str, Any]:
    """Slots with Decimals as strings, for logs and the evaluation."""
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        return value
    return {"intent": understanding.intent,
            "slots": {key: plain(value) for key, value in understanding.slots.items()}}
