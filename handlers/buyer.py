"""Buyers: a request in, at most five honest offers with ordering links out.

Every offer shown meets every constraint the buyer stated. When constraints
leave nothing, the nearest relaxation is offered as a question; when nothing
matches at all, the reply says so, records the demand and offers a restock alert.
"""
from __future__ import annotations

import itertools
import time
from typing import Any

from db import demand, listings, restock
from db.listings import Candidate, Offer
from handlers import links, ranking
from handlers.common import OTHER
from handlers.context import Turn
from handlers.order_form import link_quantity
from handlers.request import (Request, Retrieved, rankable_if_cached, retrieve_cached,
                              retrieve_rankable)
from handlers.router import Router, intent_is
from handlers.types import Reply
from nlp.goods import origin_label, short_place

router = Router("buyer")

FOUND = "为您找到这些好货："
SOLD_OUT_FOUND = "「{named}」已经卖完了😔 这些是{whose}的{goods}："
SOLD_OUT_NONE = ("「{named}」已经卖完了😔 暂时也没有别家的{goods}，已记下您的需求。\n"
                 "要到货提醒吗？有货了第一时间告诉您，回复「要」就行。")
NONFOOD = ("我们这里只卖农产品和土特产，没有「{what}」这类东西哦。\n"
           "想买吃的随时说，比如「我想买脐橙」「有没有土蜂蜜」。")
FOUND_TAIL = "点「下单」查看详情；回复「还有吗」看更多，「要第2个」选一个。"
NONE = ("暂时没有找到「{what}」😔 已记下您的需求。\n"
        "要到货提醒吗？有货了第一时间告诉您，回复「要」就行。")
NO_GOODS = "您想买什么呢？直接说货名，比如「云南的土鸡蛋」「赣南脐橙 五十块以内」。"
NO_MORE = "符合条件的就这些了，没有更多了。可以换个货名或条件再找。"
NOT_CHEAPER = "没有比刚才更便宜的了，刚才最便宜的是{price}。"
RESTOCK_SET = "好的，{what}到货了第一时间通知您🔔"
CANCELLED = "好的，不看了。还想买什么随时说。"
NOTHING_PENDING = "好的😊 想买什么直接告诉我，比如「我想买脐橙」。"
BAD_INDEX = "没有第{index}个，请回复 1 到 {count} 之间的数字，比如「要第1个」。"
NO_LIST = "还没有给您推荐商品呢，先说说想买什么吧，比如「我想买脐橙」。"


def price_text(offer: Offer) -> str:
    return f"¥{offer.price_fen // 100}.{offer.price_fen % 100:02d}/{offer.unit}"


def order_link(turn: Turn, offer: Offer, quantity: int | None = None) -> str:
    token = links.sign(turn.services.link_secret, offer.id, turn.inbound.openid, int(turn.now),
                       quantity)
    return f"{turn.services.public_url.rstrip('/')}/o/{token}"


def offer_text(turn: Turn, number: int, offer: Offer) -> str:
    details = " · ".join(part for part in (price_text(offer), offer.origin, offer.seller) if part)
    return f"{number}. {offer.title}\n{details}\n<a href=\"{order_link(turn, offer)}\">下单</a>"


# -- retrieval ------------------------------------------------------------

async def _retrieved(turn: Turn, request: Request,
                     exclude: tuple[int, ...] = ()) -> tuple[Retrieved, list[Candidate]]:
    cached = rankable_if_cached(turn.versions, request, exclude) if turn.versions else None
    found, reliability = cached or await turn.services.db.run(retrieve_rankable, request, exclude)
    day = time.strftime("%Y-%m-%d", time.localtime(turn.now))
    return found, ranking.rank(found.candidates, found.request.product,
                               found.request.attributes, reliability, turn.now,
                               turn.services.ranking, turn.inbound.openid, day)


async def _ranked(turn: Turn, request: Request, exclude: tuple[int, ...] = ()) -> list[Candidate]:
    return (await _retrieved(turn, request, exclude))[1]


def _remember(turn: Turn, request: Request, page: list[Candidate], shown: list[int]) -> None:
    turn.session.update(query=request.dump(), shown=shown, page=[c.id for c in page],
                        cheapest=min(c.price_fen for c in page))
    turn.session.pop("question", None)


async def show(turn: Turn, request: Request, fresh: bool = True) -> Reply:
    """The next page of offers for a request, or the honest alternative."""
    shown = [] if fresh else list(turn.session.get("shown", []))
    found, ranked = await _retrieved(turn, request, tuple(shown))
    page = ranking.diverse_page(ranked)
    if not page and found.sold_out and fresh:
        return await _record_unmet(turn, request, SOLD_OUT_NONE.format(
            named=found.sold_out, goods=found.request.goods_label()), found.request)
    if not page:
        return await _nothing(turn, request) if fresh else Reply(NO_MORE, intent="next_page",
                                                                 outcome="no_match")
    # Later pages continue what was shown: the same product, when the named one sold out.
    _remember(turn, found.request, page, shown + [c.id for c in page])
    items = [offer_text(turn, n, offer) for n, offer in enumerate(page, 1)]
    head = (SOLD_OUT_FOUND.format(named=found.sold_out, goods=found.request.goods_label(),
                                  whose=_offered_instead(request, found.request))
            if found.sold_out else FOUND)
    shown_now = tuple(c.id for c in page)
    return Reply(head, items=items, tail=FOUND_TAIL, intent="search", offers=shown_now,
                 views=shown_now)


def _offered_instead(asked: Request, offered: Request) -> str:
    """Whose goods a sold-out answer offers: a place the buyer named and the offers lack
    is said, so no offer passes for the place's own."""
    return "其他产地" if asked.origin and not offered.origin else "别家"


async def _nothing(turn: Turn, request: Request) -> Reply:
    relaxed = await _nearest_relaxation(turn, request)
    if relaxed:
        dropped, easier, best = relaxed
        turn.session["question"] = {"kind": "relax", "query": easier.dump()}
        return Reply(_relaxation_question(request, dropped, best), intent="search",
                     outcome="no_match")
    return await _record_unmet(turn, request, NONE.format(what=request.label()), request)


async def _record_unmet(turn: Turn, request: Request, text: str, wanted: Request) -> Reply:
    """Nothing to offer: the demand is recorded (with the buyer's city) and a restock
    alert offered for `wanted`."""
    await turn.services.db.run(
        demand.record, turn.inbound.openid, turn.inbound.text, request.goods_label(),
        origin_label(request.origin) if request.origin else None,
        int(float(request.price_max) * 100) if request.price_max else None,
        request.buyer_city)
    turn.session["question"] = {"kind": "restock", "query": wanted.dump()}
    turn.session.pop("page", None)
    return Reply(text, intent="search", outcome="no_match")


async def _nearest_relaxation(turn: Turn, request: Request
                              ) -> tuple[tuple[str, ...], Request, list[Candidate]] | None:
    """Drop the fewest constraints; ties drop attribute, then origin, then price."""
    present = request.present()
    for size in range(1, len(present) + 1):
        for dropped in itertools.combinations(present, size):
            easier = request.without(*dropped)
            found = await turn.services.db.run(listings.find, easier.spec(cap=50))
            if found:
                return dropped, easier, found
    return None


def _relaxation_question(request: Request, dropped: tuple[str, ...],
                         found: list[Candidate]) -> str:
    goods = request.goods_label()
    if dropped == ("price",):
        cheapest = min(found, key=lambda c: c.price_fen)
        return (f"{request.price_label()}的{goods}没有，最便宜的{price_text(cheapest)}，"
                "要看看吗？")
    if dropped == ("origin",):
        places = list(dict.fromkeys(short_place(c.origin.split(" ")[0]) for c in found
                                    if c.origin))[:2]
        have = f"有{'、'.join(places)}的" if places else "别的产地有"
        return f"没有{request.label()}，{have}，要看看吗？"
    if dropped == ("attributes",):
        return f"没有{''.join(request.attributes)}的{goods}，有普通的，要看看吗？"
    if dropped == ("qualifiers",):
        return f"没有{request.label()}，有别的{goods}，要看看吗？"
    wanted = "、".join({"qualifiers": "".join(request.qualifiers),
                       "attributes": "".join(request.attributes),
                       "origin": "指定产地", "price": request.price_label()}[d] for d in dropped)
    return f"没有完全符合（{wanted}）的{goods}，放宽这些条件有{len(found)}款，要看看吗？"


# -- conversation steps ---------------------------------------------------

@router.on(intent_is("search"))
async def search(turn: Turn) -> Reply:
    nonfood = turn.understanding.slots.get("nonfood")
    if nonfood:
        return Reply(NONFOOD.format(what=nonfood), intent="search", outcome="no_match")
    request = Request.from_understanding(turn.understanding)
    if not request.browsable:
        return Reply(NO_GOODS, intent="search")
    return await show(turn, request)


@router.on(lambda turn: intent_is("other")(turn) and "noun" in turn.understanding.flags)
async def noun_alone(turn: Turn) -> Reply:
    """菱角: a noun alone that the lexicons lack is goods when sellers' titles have it."""
    request = Request.noun(turn.understanding.words[0], turn.understanding.said,
                           turn.understanding.described)
    found = await turn.services.db.run(retrieve_cached, request)
    if not found.candidates or found.request.written:
        return Reply(OTHER, intent="other")
    return await show(turn, request)


@router.on(intent_is("next_page"))
async def next_page(turn: Turn) -> Reply:
    request = Request.load(turn.session.get("query"))
    if request is None:
        return Reply(NO_LIST, intent="next_page")
    return await show(turn, request, fresh=False)


@router.on(intent_is("refine"))
async def refine(turn: Turn) -> Reply:
    previous = Request.load(turn.session.get("query"))
    if previous is None:
        alone = Request.from_understanding(turn.understanding)
        if alone.attributes and "cheaper" not in turn.understanding.flags:
            return await show(turn, alone)  # 送礼的, 有机的: whatever has it
        return Reply(NO_GOODS, intent="refine")
    if "cheaper" in turn.understanding.flags:
        return await _cheaper(turn, previous)
    return await show(turn, previous.refined(Request.from_understanding(turn.understanding)))


async def _cheaper(turn: Turn, previous: Request) -> Reply:
    cheapest = turn.session.get("cheapest")
    if cheapest is None:
        return await show(turn, previous)
    request = previous.without("price")
    ranked = await _ranked(turn, request)
    cheaper = [c for c in ranked if c.price_fen < cheapest]
    page = ranking.diverse_page(cheaper)
    if not page:
        yuan = f"¥{cheapest // 100}.{cheapest % 100:02d}"
        return Reply(NOT_CHEAPER.format(price=yuan), intent="refine", outcome="no_match")
    _remember(turn, previous, page, [c.id for c in page])
    items = [offer_text(turn, n, offer) for n, offer in enumerate(page, 1)]
    shown_now = tuple(c.id for c in page)
    return Reply(FOUND, items=items, tail=FOUND_TAIL, intent="refine", offers=shown_now,
                 views=shown_now)


@router.on(intent_is("choose"))
async def choose(turn: Turn) -> Reply:
    page = turn.session.get("page") or []
    if not page:
        return Reply(NO_LIST, intent="choose")
    index = turn.understanding.slots["index"]
    if not 1 <= index <= len(page):
        return Reply(BAD_INDEX.format(index=index, count=len(page)), intent="choose")
    offer = await turn.services.db.run(listings.get, page[index - 1])
    if offer is None or offer.status != "live" or offer.stock <= 0:
        return Reply("这个商品刚刚下架或卖完了，换一个看看吧。", intent="choose", outcome="no_match")
    quantity = _quantity_text(turn.understanding.slots)
    lines = [f"您选了：{offer.title}", " · ".join(p for p in (price_text(offer), offer.origin,
                                                              offer.seller) if p)]
    if quantity:
        lines.append(f"数量：{quantity}")
    prefill = link_quantity(turn.understanding.slots, offer.unit)  # 三斤 fills the form
    lines.append(f'<a href="{order_link(turn, offer, prefill)}">点这里下单</a>')
    return Reply("\n".join(lines), intent="choose", offers=(offer.id,))


def _quantity_text(slots: dict[str, Any]) -> str:
    if "quantity" not in slots:
        return ""
    return f"{format(slots['quantity'].normalize(), 'f')}{slots.get('unit', '')}"


@router.on(intent_is("confirm"))
async def confirm(turn: Turn) -> Reply:
    """A yes answers the most recent question."""
    question = turn.session.pop("question", None)
    if not question:
        return Reply(NOTHING_PENDING, intent="confirm")
    request = Request.load(question["query"])
    if question["kind"] == "relax":
        return await show(turn, request)
    await turn.services.db.run(restock.subscribe, turn.inbound.openid, request.goods_label())
    return Reply(RESTOCK_SET.format(what=request.goods_label()), intent="confirm")


@router.on(intent_is("cancel"))
async def cancel(turn: Turn) -> Reply:
    turn.session.pop("question", None)
    return Reply(CANCELLED, intent="cancel")
