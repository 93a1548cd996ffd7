"""Numbers, money and quantities in chat Chinese.

Our own rules isolate each span (三块五一斤, 五六斤, 十来斤, 二两, 50元以内 ...);
cn2an converts the numeral inside a span. Neither cn2an nor jionlp handles chat
money on its own: cn2an turns 三块五一斤 into "3块51斤" and 五六斤 into "56斤".
"""
from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import cn2an

CN_DIGITS = "零〇一二两三四五六七八九"
# Bounded repetition keeps every pattern linear on pathological input (2,000 digits).
NUM = rf"(?:\d{{1,9}}(?:\.\d{{1,3}})?|[{CN_DIGITS}十百千万俩仨]{{1,9}}(?:点[{CN_DIGITS}]{{1,3}})?)"
COUNT_UNITS = ("箱", "袋", "个", "只", "盒", "瓶", "罐", "件", "份", "枚", "颗", "条", "包", "提",
               "桶", "串", "把", "捆", "棵", "根", "束", "饼", "听", "套", "斤装", "箱装", "粒",
               "板", "筐", "坛")
WEIGHT_FACTORS = {"斤": Decimal(1), "公斤": Decimal(2), "千克": Decimal(2), "kg": Decimal(2),
                  "克": Decimal("0.002"), "g": Decimal("0.002"), "吨": Decimal(2000)}
VOLUME_UNITS = ("毫升", "ml", "升", "l")
_UNIT_ALT = "|".join(sorted([*WEIGHT_FACTORS, *COUNT_UNITS, *VOLUME_UNITS], key=len, reverse=True))
UNIT = rf"(?:{_UNIT_ALT})"
YUAN = r"(?:块钱|块|元钱|元|rmb)"
# 三块五 / 3块5 / 一块二毛 / 八毛五 / ¥8 / 50元
AMOUNT = (rf"(?:[¥￥]\s*(?P<{{p}}sym>{NUM})"
          rf"|(?P<{{p}}yuan>{NUM})\s*{YUAN}(?:\s*(?P<{{p}}jiao>[一二三四五六七八九\d])(?![十百千万\d])(?:毛|角)?"
          rf"(?!\s*{UNIT}))?"
          rf"|(?P<{{p}}mao>{NUM})\s*(?:毛钱|毛|角)(?P<{{p}}fen>[一二三四五六七八九\d](?!\s*{UNIT}))?)")
UPPER_BEFORE = ("不超过", "最多", "不高于", "顶多", "最高")
UPPER_EXCLUSIVE_BEFORE = ("不到", "低于", "少于", "小于")
UPPER_AFTER = ("以内", "以下", "之内", "内", "封顶")
LOWER_BEFORE = ("至少", "最少", "不低于")
LOWER_EXCLUSIVE_BEFORE = ("高于", "超过", "大于")
LOWER_AFTER = ("以上", "起", "起步")
AROUND_AFTER = ("左右", "上下", "出头")
TOTAL_BEFORE = ("预算", "总共", "一共", "总价", "总预算", "全部", "一起")
FEN = Decimal("0.01")


def to_decimal(raw: str) -> Decimal | None:
    """One numeral span as a Decimal: 50, 1.5, 五十, 一百二, 两, 俩, 十来 (about ten)."""
    raw = raw.strip().replace("来", "").removesuffix("多").removesuffix("把")  # about: 十来斤, 三百多斤
    if raw in ("百", "千", "万"):
        raw = "一" + raw  # 百把斤 is about a hundred
    if not raw:
        return None
    raw = raw.replace("俩", "两").replace("仨", "三")
    try:
        if raw[0].isdigit():
            return Decimal(raw)
        return Decimal(str(cn2an.cn2an(raw, "smart")))
    except (ValueError, InvalidOperation, KeyError, IndexError, TypeError):
        return None


def canonical_unit(unit: str) -> tuple[str, Decimal]:
    """(canonical unit, factor to it): weights become 斤."""
    if unit in WEIGHT_FACTORS:
        return "斤", WEIGHT_FACTORS[unit]
    if unit == "两":
        return "斤", Decimal("0.1")
    return unit.removesuffix("装") if unit.endswith("装") and len(unit) > 1 else unit, Decimal(1)


@dataclass(frozen=True)
class Price:
    low: Decimal | None
    high: Decimal | None
    per: str | None  # a canonical unit, 'total', or None when not said
    said_unit: str | None = None  # the unit as spoken (公斤 stays 公斤): a seller's listing unit


@dataclass(frozen=True)
class Quantity:
    value: Decimal
    unit: str
    high: Decimal | None = None  # 五六斤 is 5 to 6
    spec: bool = False  # 五斤装, 五升一瓶: a description of the goods, not an amount


@dataclass
class Numbers:
    prices: list[Price]
    quantities: list[Quantity]
    rest: str  # the text with every span blanked out


def _amount(match: re.Match[str], prefix: str = "") -> Decimal | None:
    group = match.groupdict()
    if group.get(prefix + "sym"):
        return to_decimal(group[prefix + "sym"])
    if group.get(prefix + "yuan"):
        yuan = to_decimal(group[prefix + "yuan"])
        jiao = to_decimal(group[prefix + "jiao"]) if group.get(prefix + "jiao") else Decimal(0)
        return None if yuan is None or jiao is None else yuan + jiao / 10
    if group.get(prefix + "mao"):
        mao = to_decimal(group[prefix + "mao"])
        fen = to_decimal(group[prefix + "fen"]) if group.get(prefix + "fen") else Decimal(0)
        return None if mao is None or fen is None else mao / 10 + fen / 100
    return None


def _amount_re(prefix: str = "") -> str:
    return AMOUNT.replace("{p}", prefix)


def _alt(words: tuple[str, ...]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


_RANGE = re.compile(
    rf"(?:(?:价格|价钱|价位)\s*在?\s*)?(?P<lo>{NUM})\s*(?:{YUAN})?\s*(?:到|至|-|~)\s*(?P<hi>{NUM})"
    rf"\s*(?:{YUAN}\s*(?:之间)?|之间)"
    rf"(?:\s*(?:每|一|/)\s*(?P<unit>{UNIT}))?")
_BOUND_BEFORE = re.compile(
    rf"(?P<word>{_alt(UPPER_BEFORE + UPPER_EXCLUSIVE_BEFORE + LOWER_BEFORE + LOWER_EXCLUSIVE_BEFORE)})"
    rf"\s*(?:{_amount_re()}|(?P<bare>{NUM})(?!\s*{UNIT}))")
_BOUND_AFTER = re.compile(
    rf"(?:{_amount_re()}|(?P<bare>{NUM}))\s*(?P<word>{_alt(UPPER_AFTER + LOWER_AFTER + AROUND_AFTER)})"
    rf"(?:\s*(?:的)?\s*(?:一|每|/)\s*(?P<unit>{UNIT}))?")
_TOTAL = re.compile(rf"(?P<word>{_alt(TOTAL_BEFORE)})\s*(?:{_amount_re()}|(?P<bare>{NUM}))")
_AFTER_WORDS = _alt(UPPER_AFTER + LOWER_AFTER + AROUND_AFTER)
_BEFORE_WORDS = _alt(UPPER_BEFORE + UPPER_EXCLUSIVE_BEFORE + LOWER_BEFORE + LOWER_EXCLUSIVE_BEFORE)
_UNIT_THEN_PRICE = re.compile(
    rf"(?P<each>每|一)\s*(?P<unit>{UNIT})\s*(?:要|卖|是|才|大概|大约|差不多|能卖|卖到)?\s*(?P<before>{_BEFORE_WORDS})?\s*"
    rf"(?:{_amount_re()}|(?P<bare>{NUM})(?=\s*(?:{_AFTER_WORDS})|[\s,的]|$))\s*(?P<word>{_AFTER_WORDS})?")
_PRICE_THEN_UNIT = re.compile(
    rf"(?P<before>{_BEFORE_WORDS})?\s*{_amount_re()}\s*(?:每|一|/|一个)\s*(?P<unit>{UNIT})"
    rf"\s*(?P<word>{_AFTER_WORDS})?")
# 十块钱三斤, 10元2斤: a price for a bundle, restated per unit. No gap: 三块五 100斤 is a stock.
_PRICE_FOR_BUNDLE = re.compile(rf"{_amount_re()}(?P<count>{NUM})(?P<unit>{UNIT})(?!装)")
_PLAIN_PRICE = re.compile(_amount_re())
# 多少钱一斤 asks for the price per 斤; it is not an amount to buy.
_ASK_PRICE = re.compile(rf"(?:多少钱|什么价|啥价|几块钱?|多少)\s*(?:一|每|1)\s*{UNIT}"
                        rf"|(?:一|每)\s*{UNIT}\s*(?:多少钱|什么价|啥价|几块钱?|怎么卖)")
# A seller's bare number: 一百二一斤, 45一斤, 改成九十.
_BARE_PER_UNIT = re.compile(rf"(?P<bare>{NUM})\s*(?:一|每|/)\s*(?P<unit>{UNIT})")
_BARE_SET_TO = re.compile(rf"(?:[改涨降调](?:价格?)?(?:成|为|到))\s*(?P<bare>{NUM})(?![\d.{CN_DIGITS}十百千万])(?!\s*{UNIT})")
_RANGE_QTY = re.compile(rf"(?P<a>[一两二三四五六七八])(?P<b>[两二三四五六七八九])(?P<times>[十百千万])?"
                        rf"\s*(?P<unit>{UNIT})")
_TIMES = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_SPEC = re.compile(rf"(?P<num>{NUM})\s*(?P<unit>{_alt(VOLUME_UNITS)}|斤装|公斤装|克装)\s*(?:一|每)\s*(?P<each>{UNIT})")
_HALF = re.compile(rf"半\s*(?P<unit>{UNIT})")
_AND_HALF = re.compile(rf"(?P<num>{NUM})\s*(?P<unit>{UNIT})半")
_LIANG_WEIGHT = re.compile(
    rf"(?P<num>[一二三四五六七八九十半\d]{{1,4}})两(?!\s*(?:{_alt(COUNT_UNITS)}|{_alt(tuple(WEIGHT_FACTORS))}))")
_QUANTITY = re.compile(rf"(?P<num>{NUM}(?:来|多|把)?)\s*(?P<unit>{UNIT})(?P<spec>装)?")


def _blank(text: str, match: re.Match[str]) -> str:
    return text[: match.start()] + " " * (match.end() - match.start()) + text[match.end():]


def _bound(word: str, value: Decimal, per: str | None) -> Price:
    if word in UPPER_BEFORE or word in UPPER_AFTER:
        return Price(None, value, per)
    if word in UPPER_EXCLUSIVE_BEFORE:
        return Price(None, value - FEN, per)  # 不到50 excludes 50: prices are whole fen
    if word in LOWER_EXCLUSIVE_BEFORE:
        return Price(value + FEN, None, per)
    if word in LOWER_BEFORE or word in LOWER_AFTER:
        return Price(value, None, per)
    spread = (value * Decimal("0.2")).quantize(FEN)
    return Price(value - spread, value + spread, per)


def _per_unit(value: Decimal, unit: str) -> tuple[Decimal, str]:
    """A price per 公斤 or 两 is restated per 斤, where prices are compared."""
    canonical, factor = canonical_unit(unit)
    return (value / factor).quantize(FEN), canonical


def _value(match: re.Match[str]) -> Decimal | None:
    bare = match.groupdict().get("bare")
    return to_decimal(bare) if bare else _amount(match)


def extract(text: str, seller: bool = False, names: Container[str] = ()) -> Numbers:
    """Find every price and quantity; later rules never see an earlier rule's span.

    seller: the message lists or changes goods, so a bare number by a unit is a price.
    names: goods words; an amount alone that is one of them is the goods (八角, the spice,
    not 0.8 yuan), unless 钱 follows it (八角钱).
    """
    prices: list[Price] = []
    quantities: list[Quantity] = []
    for match in list(_ASK_PRICE.finditer(text)):
        text = _blank(text, match)
    for match in list(_RANGE.finditer(text)):
        low, high = to_decimal(match.group("lo")), to_decimal(match.group("hi"))
        if low is not None and high is not None:
            per = match.group("unit")
            if per:
                (low, _), (high, per) = _per_unit(low, per), _per_unit(high, per)
            prices.append(Price(min(low, high), max(low, high), per))
            text = _blank(text, match)
    text = _prices_with_units(text, prices)
    if seller:
        text = _seller_prices(text, prices)
    for pattern in (_BOUND_BEFORE, _BOUND_AFTER):
        for match in list(pattern.finditer(text)):
            value = _value(match)
            if value is not None:
                unit = match.groupdict().get("unit")
                if unit:
                    value, unit = _per_unit(value, unit)
                prices.append(_bound(match.group("word"), value, unit))
                text = _blank(text, match)
    for match in list(_TOTAL.finditer(text)):
        value = _value(match)
        if value is not None:
            prices.append(Price(None, value, "total"))
            text = _blank(text, match)
    for match in list(_PLAIN_PRICE.finditer(text)):
        value = _amount(match)
        if match.group().strip() in names and not text[match.end():].startswith("钱"):
            continue
        if value is not None:
            prices.append(Price(value, value, None))
            text = _blank(text, match)
    text = _quantities(text, quantities)
    return Numbers(prices, quantities, text)


def _prices_with_units(text: str, prices: list[Price]) -> str:
    for match in list(_PRICE_FOR_BUNDLE.finditer(text)):
        amount, count = _amount(match), to_decimal(match.group("count"))
        unit = match.group("unit")
        if amount is None or not count or count == 1 or unit in VOLUME_UNITS:
            continue
        value, per = _per_unit((amount / count).quantize(FEN), unit)
        prices.append(Price(value, value, per, unit))
        text = _blank(text, match)
    for pattern in (_PRICE_THEN_UNIT, _UNIT_THEN_PRICE):
        for match in list(pattern.finditer(text)):
            value = _value(match)
            unit = match.group("unit")
            if value is None or unit in VOLUME_UNITS:
                continue
            said, (value, unit) = unit, _per_unit(value, unit)
            word = match.group("before") or match.group("word")
            prices.append(_bound(word, value, unit) if word else Price(value, value, unit, said))
            text = _blank(text, match)
    return text


def _seller_prices(text: str, prices: list[Price]) -> str:
    for match in list(_BARE_PER_UNIT.finditer(text)):
        value = to_decimal(match.group("bare"))
        if value is not None and match.group("unit") not in VOLUME_UNITS:
            value, unit = _per_unit(value, match.group("unit"))
            prices.append(Price(value, value, unit, match.group("unit")))
            text = _blank(text, match)
    for match in list(_BARE_SET_TO.finditer(text)):
        value = to_decimal(match.group("bare"))
        if value is not None:
            prices.append(Price(value, value, None))
            text = _blank(text, match)
    return text


def _quantities(text: str, quantities: list[Quantity]) -> str:
    for match in list(_SPEC.finditer(text)):
        value = to_decimal(match.group("num"))
        if value is not None:
            unit, factor = canonical_unit(match.group("unit").removesuffix("装"))
            quantities.append(Quantity(value * factor, unit, spec=True))
            text = _blank(text, match)
    for match in list(_RANGE_QTY.finditer(text)):
        low, high = to_decimal(match.group("a")), to_decimal(match.group("b"))
        if low is not None and high is not None and high == low + 1:
            unit, factor = canonical_unit(match.group("unit"))
            factor *= _TIMES.get(match.group("times") or "", 1)  # 两三百斤 is 200 to 300
            quantities.append(Quantity(low * factor, unit, high * factor))
            text = _blank(text, match)
    for match in list(_AND_HALF.finditer(text)):
        value = to_decimal(match.group("num"))
        if value is not None:
            unit, factor = canonical_unit(match.group("unit"))
            quantities.append(Quantity((value + Decimal("0.5")) * factor, unit))
            text = _blank(text, match)
    for match in list(_HALF.finditer(text)):
        unit, factor = canonical_unit(match.group("unit"))
        quantities.append(Quantity(Decimal("0.5") * factor, unit))
        text = _blank(text, match)
    for match in list(_LIANG_WEIGHT.finditer(text)):
        raw = match.group("num")
        value = Decimal("0.5") if raw == "半" else to_decimal(raw)
        if value is not None and raw not in ("两",):
            quantities.append(Quantity(value * Decimal("0.1"), "斤"))
            text = _blank(text, match)
    for match in list(_QUANTITY.finditer(text)):
        value = to_decimal(match.group("num"))
        if value is None:
            continue
        raw_unit = match.group("unit")
        unit, factor = canonical_unit(raw_unit)
        spec = bool(match.group("spec")) or raw_unit.endswith("装") or raw_unit in VOLUME_UNITS
        quantities.append(Quantity(value * factor, unit, spec=spec))
        text = _blank(text, match)
    return text
