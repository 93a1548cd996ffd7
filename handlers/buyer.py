"""Buyers: a request in, at most five honest offers with ordering links out."""
from __future__ import annotations

from decimal import Decimal

from db import demand, listings
from db.listings import Offer
from handlers import links
from handlers.context import Turn
from handlers.router import Router, intent_is
from handlers.types import Reply

router = Router("buyer")
MAX_OFFERS = 5

FOUND = "为您找到这些好货："
FOUND_TAIL = "点「下单」查看详情并购买。"
NONE = (
    "暂时没有找到「{what}」😔 已记下您的需求。\n"
    "可以换个说法试试，比如说货名和产地：「赣南脐橙」「五常大米」「土鸡蛋 五十块以内」。"
)


def price_text(offer: Offer) -> str:
    return f"¥{offer.price_fen // 100}.{offer.price_fen % 100:02d}/{offer.unit}"


def order_link(turn: Turn, offer: Offer) -> str:
    token = links.sign(turn.services.link_secret, offer.id, turn.inbound.openid, int(turn.now))
    return f"{turn.services.public_url.rstrip('/')}/o/{token}"


def offer_text(turn: Turn, number: int, offer: Offer) -> str:
    details = " · ".join(part for part in (price_text(offer), offer.origin, offer.seller) if part)
    link = f'<a href="{order_link(turn, offer)}">下单</a>'
    return f"{number}. {offer.title}\n{details}\n{link}"


def _price_max_fen(turn: Turn) -> int | None:
    bound = turn.understanding.slots.get("price_max")
    return int(Decimal(bound) * 100) if bound is not None else None


@router.on(intent_is("search"))
async def search(turn: Turn) -> Reply:
    words = list(turn.understanding.terms)
    price_max = _price_max_fen(turn)
    offers = await turn.services.db.run(listings.search, words, price_max, MAX_OFFERS)
    turn.session["last_query"] = {"terms": words, "price_max_fen": price_max}
    turn.session["shown"] = [offer.id for offer in offers]
    if not offers:
        return await _none(turn, words, price_max)
    items = [offer_text(turn, n, offer) for n, offer in enumerate(offers, 1)]
    return Reply(FOUND, items=items, tail=FOUND_TAIL, intent="search")


async def _none(turn: Turn, words: list[str], price_max: int | None) -> Reply:
    what = "".join(words) or turn.inbound.text
    await turn.services.db.run(demand.record, turn.inbound.openid, turn.inbound.text,
                               what, None, price_max)
    return Reply(NONE.format(what=what), intent="search", outcome="no_match")
