"""A listing being written by chat: what is known, what is wrong, how it reads.

The draft is plain JSON in the session (SellForm); nothing is stored as a listing
until the seller confirms and every check passes.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from db.listings import NewListing
from nlp import lexicon
from nlp.seller import ListingText, banned_word, convert, origin_text, plain, same_measure

MAX_PRICE = Decimal(100_000)   # yuan per unit
MAX_STOCK = 1_000_000
MAX_TITLE = 60
ORDER = ("title", "price", "stock", "origin")  # what the form asks for, in this order

PROMPTS = {
    "title": "您要卖什么货？说货名就行，比如「自家散养土鸡蛋」。",
    "price": "「{title}」卖多少钱、按什么单位？比如「三块五一斤」「一箱80元」「15一个」。",
    "unit": "{price}元是按什么卖的？比如「一斤」「一箱」「一个」。",
    "stock": "现在有多少{unit}可以卖？比如「300{unit}」。",
    "origin": "产地是哪里？比如「江西赣州寻乌」，也可以发送位置；不想填回复「跳过」。",
}


def yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def to_fen(price: Decimal) -> int:
    return int((price * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def number_text(value: Decimal | int | str) -> str:
    return format(plain(Decimal(str(value))), "f")


@dataclass(frozen=True)
class Draft:
    title: str | None = None
    product: str | None = None
    price: str | None = None      # yuan per unit, as text (JSON-safe)
    unit: str | None = None
    stock: str | None = None
    origin: dict[str, Any] | None = None
    origin_skipped: bool = False
    origin_default: bool = False  # filled from the seller's profile region
    photo: str | None = None

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> Draft:
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def dump(self) -> dict[str, Any]:
        return asdict(self)

    def missing(self) -> str | None:
        """The first thing still to ask: title, price, unit, stock, origin; None when done."""
        if not self.title:
            return "title"
        if self.price is None:
            return "price"
        if not self.unit:
            return "unit"
        if self.stock is None:
            return "stock"
        if not self.origin and not self.origin_skipped:
            return "origin"
        return None

    def prompt(self, field_name: str) -> str:
        return PROMPTS[field_name].format(title=self.title or "", unit=self.unit or "斤",
                                          price=number_text(self.price or 0))

    def price_fen(self) -> int:
        return to_fen(Decimal(self.price or 0))

    def summary(self) -> str:
        lines = ["请核对商品信息：", f"品名：{self.title}",
                 f"价格：{yuan(self.price_fen())}/{self.unit}",
                 f"库存：{number_text(self.stock or 0)}{self.unit}"]
        place = origin_text(self.origin).replace(" ", "") if self.origin else "未填"
        lines.append(f"产地：{place}" + ("（默认资料地区，可改）" if self.origin_default else ""))
        if self.photo:
            lines.append("照片：已添加📷")
        lines.append("回复「确认」发布；要改就直接说，比如「价格改成4元」「库存200」"
                     "「产地是赣州的」「品名改成赣南脐橙」，也可以发照片；「取消」放弃。")
        return "\n".join(lines)

    def to_new_listing(self) -> NewListing:
        return NewListing(title=self.title or "", price_fen=self.price_fen(), unit=self.unit or "",
                          stock=int(Decimal(self.stock or 0)), origin=origin_text(self.origin),
                          category=category_of(self.product), photo=self.photo)


def category_of(product: str | None) -> str:
    """The top of the product's category path (水果, 禽蛋 ...), or ''."""
    if not product:
        return ""
    return lexicon.lexicon().category_of.get(product, "").partition("/")[0]


# -- checks: each bad value gets a clear answer and is not kept -------------

def title_problem(title: str, banned: frozenset[str]) -> str | None:
    title = title.strip()
    if not title:
        return "货名不能是空的，请说您卖什么，比如「土鸡蛋」。"
    if len(title) > MAX_TITLE:
        return f"货名太长了（最多{MAX_TITLE}个字），请说短一点，比如「赣南脐橙」。"
    word = banned_word(title, banned)
    if word:
        return f"「{word}」不能在平台上卖，请换别的货品。"
    return None


def price_problem(price: Decimal) -> str | None:
    if price <= 0:
        return "价格要大于0元，请重新说价格，比如「三块五一斤」。"
    if price > MAX_PRICE:
        return "价格太高了（每个单位最多10万元），请核对后重新说，比如「三块五一斤」。"
    if to_fen(price) == 0:
        return "价格太低了（至少1分钱），请重新说价格。"
    return None


def stock_problem(stock: Decimal) -> str | None:
    if stock < 0:
        return "库存不能是负数，请说现在有多少，比如「300斤」。"
    if stock > MAX_STOCK:
        return f"库存太大了（最多{MAX_STOCK:,}），请核对后重新说。"
    if stock != stock.to_integral_value():
        return "库存请说整数，比如「300斤」。"
    return None


def merge(draft: Draft, said: ListingText, banned: frozenset[str],
          take_title: bool) -> tuple[Draft, list[str], set[str]]:
    """The draft with what one message said; (new draft, problems, fields changed).

    Bad values are reported and left out. The title changes only when the message is
    about the goods (take_title), so 「一块五一个」 never renames them.
    """
    problems: list[str] = []
    changes: dict[str, Any] = {}
    if said.title and (take_title or not draft.title):
        problem = title_problem(said.title, banned)
        if problem:
            problems.append(problem)
        else:
            changes.update(title=said.title.strip(), product=said.product)
    if said.price is not None:
        problem = price_problem(said.price)
        if problem:
            problems.append(problem)
        else:
            changes["price"] = number_text(said.price)
            if said.unit:
                changes["unit"] = said.unit
    elif said.unit and not draft.unit:
        changes["unit"] = said.unit  # 按斤: the unit of a price given bare
    if said.stock is not None and (said.unit == (changes.get("unit") or draft.unit)
                                   or not (changes.get("unit") or draft.unit)):
        problem = stock_problem(said.stock)
        if problem:
            problems.append(problem)
        else:
            changes["stock"] = number_text(said.stock)
    if said.origin:
        changes.update(origin=said.origin, origin_skipped=False, origin_default=False)
    unit = changes.get("unit")
    if said.unit and draft.unit and said.unit != draft.unit and "price" not in changes:
        problems.append(f"改单位请连价格一起说，比如「一{said.unit}50元」。")
    elif unit and draft.unit and unit != draft.unit and draft.stock and "stock" not in changes:
        # A new unit: a weight stock is restated, any other is asked again.
        changes["stock"] = (number_text(convert(Decimal(draft.stock), draft.unit, unit))
                            if same_measure(draft.unit, unit) else None)
    return replace(draft, **changes), problems, set(changes)


def decimal_or_none(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None
