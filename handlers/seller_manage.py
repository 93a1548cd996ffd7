"""Sellers manage their listings by message: 我的商品, 改价 2 12元, 补货 2 100,
库存 2 100, 下架 2, 上架 2, 给2号加图, and natural forms (把脐橙的价格改成九块,
脐橙卖完了, 鸡蛋又有200个了); 认领 CODE takes over imported listings.

Every change goes through db.listings.change with the seller's own id and number,
so no message can touch another seller's listing.
"""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import handlers.order
from db import listings, media, sellers
from db.sellers import OwnListing
from handlers.context import Turn
from handlers.listing_draft import (Draft, price_problem, stock_problem, to_fen,
                                    yuan)
from handlers.notices import notify_restocks
from handlers.router import Router, intent_is
from handlers.states import PhotoForm, data, finish
from handlers.types import Photo, PhotoError, Reply
from nlp.normalize import normalise
from nlp.seller import Command, claim_code, convert, parse_command, same_measure

forms = Router("seller-manage-form")
router = Router("seller-manage")

NOT_SELLER = ("您还没有上架商品。发「我要卖…」就能上架，比如「我要卖土鸡蛋，一块五一个，有500个」；"
              "平台导入的商品，用运营给的认领码发「认领 码」接管。")
NO_SUCH = "您没有{number}号商品。发「我的商品」看看编号。"
WHICH = "您有好几个{what}：{choices}。请带上编号，比如「{example}」。"
NOT_FOUND = "没找到您的「{what}」。发「我的商品」看看编号，再说「改价 2 12元」这样的命令。"
NEED_NUMBER = "请说是几号商品，比如「{example}」。发「我的商品」看编号。"
USAGE = ("管理商品这样说：改价 2 12元｜补货 2 100｜库存 2 100｜下架 2｜上架 2｜给2号加图；"
         "也可以说「把脐橙的价格改成九块」「脐橙卖完了」「鸡蛋又有200个了」。")
REVIEWING = "改动已提交审核⏳ 通过前买家暂时看不到这件商品，审核结果会通知您。"
HINT = "改价 1 4元｜补货 1 100｜库存 1 0｜下架 1｜上架 1｜给1号加图"
PHOTO_PROBLEMS = {
    "unavailable": "现在收不了照片（公众号接口没有配置），可以先不加图。",
    "too_large": "照片太大了（超过10MB），请换一张小一点的。",
    "not_image": "这不是照片，请发一张 jpg 或 png 图片。",
    "expired": "这张图片已经过期了（微信只保留3天），请重新发一张。",
    "failed": "照片没收下来，网络不太好，请再发一次。",
}
CLAIMS = {
    "unknown": "认领码不对，请核对后再发，比如「认领 K7P3QX」。认领码由平台运营提供。",
    "used": "这个认领码已经用过了。如有疑问请联系平台运营。",
    "throttled": "认领码错误次数太多，请一小时后再试。",
    "own": "这些商品已经是您的了。发「我的商品」查看。",
}


def status_label(listing: OwnListing) -> str:
    if listing.status == "pending":
        return "审核中"
    if listing.status == "delisted":
        return f"未通过：{listing.review_note}" if listing.review == "rejected" else "已下架"
    return "在售" if listing.stock > 0 else "卖完了"


def line(listing: OwnListing) -> str:
    photo = " 📷" if listing.photo else ""
    return (f"{listing.number}. {listing.title}{photo} {yuan(listing.price_fen)}/{listing.unit}\n"
            f"库存{listing.stock}{listing.unit} · {status_label(listing)} · 浏览{listing.views}"
            f" · 订单{listing.orders}")


async def _seller(turn: Turn) -> sellers.Seller | None:
    return await turn.services.db.run(sellers.by_openid, turn.inbound.openid)


async def my_listings(turn: Turn) -> Reply:
    seller = await _seller(turn)
    own = await turn.services.db.run(sellers.own_listings, seller.id) if seller else []
    if not own:
        return Reply(NOT_SELLER, intent="my_listings")
    return Reply(f"您的商品（共{len(own)}件）：", items=[line(listing) for listing in own],
                 tail=f"管理就说：{HINT}", intent="my_listings")


# -- which listing a command means ------------------------------------------------

def _example(command: Command, number: int) -> str:
    return {"reprice": f"改价 {number} 12元", "restock": f"补货 {number} 100",
            "set_stock": f"库存 {number} 100", "sold_out": f"库存 {number} 0",
            "delist": f"下架 {number}", "relist": f"上架 {number}",
            "photo": f"给{number}号加图"}[command.action]


def _target(own: list[OwnListing], command: Command, text: str) -> OwnListing | str:
    """The listing a command means, or what to answer instead."""
    if command.index is not None:
        found = next((listing for listing in own if listing.number == command.index), None)
        return found or NO_SUCH.format(number=command.index)
    norm = normalise(text).replace(" ", "")
    named = command.surface or command.product
    if named:
        matches = [listing for listing in own
                   if listing.product == command.product and command.product
                   or named in listing.title or listing.title in norm]
    else:
        matches = [listing for listing in own if listing.title in norm] or (
            own if len(own) == 1 else [])
    if len(matches) == 1:
        return matches[0]
    if not matches and named:
        return NOT_FOUND.format(what=named)
    if not matches:
        return NEED_NUMBER.format(example=_example(command, own[0].number if own else 2))
    choices = "、".join(f"{m.number}号{m.title}" for m in matches[:5])
    return WHICH.format(what=named or "商品", choices=choices,
                        example=_example(command, matches[0].number))


# -- the commands --------------------------------------------------------------

def _change(turn: Turn, seller_id: int, number: int, changes: dict[str, Any]
            ) -> Any:
    return turn.services.db.run(listings.change, seller_id, number, changes, turn.now)


def _review_changes(turn: Turn, listing: OwnListing) -> dict[str, Any]:
    """An edit under [listings] require_review waits for an operator again."""
    if not turn.services.require_review:
        return {}
    if listing.status in ("live", "pending"):
        return {"status": "pending", "review": "pending", "review_note": None}
    return {"review": "pending", "review_note": None}


def _in_unit(value: Decimal, said: str | None, listing: OwnListing, price: bool
             ) -> Decimal | str:
    """A price or amount restated in the listing's unit, or why it cannot be."""
    if not said or said == listing.unit:
        return value
    if not same_measure(said, listing.unit):
        return (f"{listing.number}号是按{listing.unit}卖的，请按{listing.unit}说，"
                f"比如「{'改价' if price else '库存'} {listing.number} "
                f"{'12元' if price else '100' + listing.unit}」。")
    return convert(value, listing.unit, said) if price else convert(value, said, listing.unit)


async def _reprice(turn: Turn, seller_id: int, listing: OwnListing, command: Command) -> str:
    if command.price is None:
        return f"改成多少钱？比如「改价 {listing.number} 12元」。"
    price = _in_unit(command.price, command.unit, listing, price=True)
    if isinstance(price, str):
        return price
    problem = price_problem(price)
    if problem:
        return problem
    changes = {"price_fen": to_fen(price), **_review_changes(turn, listing)}
    await _change(turn, seller_id, listing.number, changes)
    text = (f"{listing.number}号 {listing.title} 价格 {yuan(listing.price_fen)} → "
            f"{yuan(to_fen(price))}/{listing.unit}")
    return f"{text}\n{REVIEWING}" if "review" in changes else f"改好了✅ {text}"


async def _stock(turn: Turn, seller_id: int, listing: OwnListing, command: Command) -> str:
    if command.action == "sold_out":
        amount: Decimal | str = Decimal(0)
    elif command.stock is None:
        return f"现在有多少{listing.unit}？比如「库存 {listing.number} 100」。"
    else:
        amount = _in_unit(command.stock, command.unit, listing, price=False)
    if isinstance(amount, str):
        return amount
    stock = listing.stock + amount if command.action == "restock" else amount
    problem = stock_problem(Decimal(stock))
    if problem:
        return problem
    changed = await _change(turn, seller_id, listing.number, {"stock": int(stock)})
    after: OwnListing = changed[1]
    await _alert_buyers(turn, listing, after)
    if after.stock == 0:
        return (f"好的，{listing.number}号 {listing.title} 库存改为0，买家暂时看不到。"
                f"又有货时说「库存 {listing.number} 100」或「{listing.title}又有100{listing.unit}了」。")
    return (f"改好了✅ {listing.number}号 {listing.title} 库存 {listing.stock} → "
            f"{after.stock}{listing.unit}")


async def _alert_buyers(turn: Turn, before: OwnListing, after: OwnListing) -> None:
    """Goods that just became buyable answer the restock alerts waiting for them."""
    buyable = after.status == "live" and after.stock > 0
    was = before.status == "live" and before.stock > 0
    if buyable and not was:
        await notify_restocks(turn.services)


async def _delist(turn: Turn, seller_id: int, listing: OwnListing, command: Command) -> str:
    if listing.status == "delisted":
        return f"{listing.number}号 {listing.title} 已经是下架状态。想再卖发「上架 {listing.number}」。"
    await _change(turn, seller_id, listing.number, {"status": "delisted"})
    return f"已下架✅ {listing.number}号 {listing.title}。想再卖发「上架 {listing.number}」。"


async def _relist(turn: Turn, seller_id: int, listing: OwnListing, command: Command) -> str:
    if listing.status == "live":
        return f"{listing.number}号 {listing.title} 正在卖，不用再上架。"
    if listing.status == "pending":
        return f"{listing.number}号 {listing.title} 还在审核中，结果会通知您。"
    # Turned down by a review or delisted by an operator: back only through review.
    review = listing.review == "rejected" or (turn.services.require_review
                                              and listing.review == "pending")
    changes = ({"status": "pending", "review": "pending", "review_note": None} if review
               else {"status": "live"})
    changed = await _change(turn, seller_id, listing.number, changes)
    if review:
        return f"{listing.number}号 {listing.title} 已重新提交审核⏳ 结果会通知您。"
    await _alert_buyers(turn, listing, changed[1])
    stock = "" if listing.stock else f"\n注意库存是0，买家还看不到，补货说「库存 {listing.number} 100」。"
    return f"已上架✅ {listing.number}号 {listing.title}，买家现在能搜到。{stock}"


async def _photo(turn: Turn, seller_id: int, listing: OwnListing, command: Command) -> str:
    PhotoForm.waiting.enter(turn.session, number=listing.number)
    return f"请直接发一张{listing.title}的照片过来📷（10MB以内）。"


ACTIONS: dict[str, Callable[[Turn, int, OwnListing, Command], Any]] = {
    "reprice": _reprice, "restock": _stock, "set_stock": _stock, "sold_out": _stock,
    "delist": _delist, "relist": _relist, "photo": _photo}


@router.on(intent_is("update_listing"))
async def manage(turn: Turn) -> Reply:
    seller = await _seller(turn)
    own = await turn.services.db.run(sellers.own_listings, seller.id) if seller else []
    if not seller or not own:
        return Reply(NOT_SELLER, intent="update_listing", outcome="no_match")
    command = parse_command(turn.inbound.text)
    if command is None:
        return Reply(USAGE, intent="update_listing")
    target = _target(own, command, turn.inbound.text)
    if isinstance(target, str):
        return Reply(target, intent="update_listing", outcome="no_match")
    text = await ACTIONS[command.action](turn, seller.id, target, command)
    return Reply(text, intent="update_listing")


# -- photos -----------------------------------------------------------------------

async def _fetch(turn: Turn) -> Photo | str:
    """The image message's photo, stored on our side, or what went wrong."""
    if turn.services.photos is None:
        return PHOTO_PROBLEMS["unavailable"]
    try:
        photo = await turn.services.photos.fetch(turn.inbound.media_id)
    except PhotoError as exc:
        return PHOTO_PROBLEMS.get(exc.reason, PHOTO_PROBLEMS["failed"])
    await turn.services.db.run(media.record, photo.name, photo.content_type, photo.size,
                               turn.now)
    return photo


async def photo_for_draft(turn: Turn, draft: Draft, remember: Callable[[Turn, Draft], Reply]
                          ) -> Reply:
    """An image while a listing is being written is its photo."""
    photo = await _fetch(turn)
    if isinstance(photo, str):
        return Reply(photo, intent="photo")
    reply = remember(turn, Draft.load({**draft.dump(), "photo": photo.name}))
    reply.head = f"照片收到了📷\n{reply.head}"
    return reply


def _waiting_for_photo(turn: Turn) -> bool:
    return PhotoForm.waiting.active(turn.session) and turn.inbound.kind == "image"


@forms.on(_waiting_for_photo)
async def photo_for_listing(turn: Turn) -> Reply:
    number = int(data(turn.session).get("number") or 0)
    finish(turn.session)
    seller = await _seller(turn)
    listing = await turn.services.db.run(sellers.own_listing, seller.id, number) if seller else None
    if seller is None or listing is None:
        return Reply(NO_SUCH.format(number=number), intent="photo")
    photo = await _fetch(turn)
    if isinstance(photo, str):
        PhotoForm.waiting.enter(turn.session, number=number)  # still waiting for a good one
        return Reply(photo, intent="photo")
    changes = {"photo": photo.name, **_review_changes(turn, listing)}
    await _change(turn, seller.id, number, changes)
    text = f"照片已加上📷 {number}号 {listing.title}"
    return Reply(f"{text}\n{REVIEWING}" if "review" in changes else f"{text}，买家下单页能看到。",
                 intent="photo")


# -- 认领 CODE ----------------------------------------------------------------------

@router.on(lambda turn: turn.inbound.kind in ("text", "voice")
           and claim_code(turn.inbound.text) is not None)
async def claim(turn: Turn) -> Reply:
    code = claim_code(turn.inbound.text) or ""
    result = await turn.services.db.run(sellers.claim, turn.inbound.openid, code, turn.now)
    if result.outcome != "claimed":
        return Reply(CLAIMS[result.outcome], intent="claim",
                     outcome="answered" if result.outcome == "own" else "no_match")
    backlog = getattr(handlers.order, "notify_seller_backlog", None)
    if backlog is not None and result.seller_id is not None:
        await backlog(turn.services, result.seller_id)  # orders placed before the claim
    own = await turn.services.db.run(sellers.own_listings, result.seller_id)
    return Reply(f"认领成功✅ 这{len(own)}件商品现在归您管理：",
                 items=[line(listing) for listing in own], tail=f"管理就说：{HINT}",
                 intent="claim")
