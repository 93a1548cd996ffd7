"""Sellers list goods by message: one message (我要卖赣南脐橙，三块五一斤，有300斤，
江西赣州寻乌县的) or a form that asks only for what is missing, then 确认.

`forms` runs before the common router (a photo or a location may answer a form);
`router` (commands: 我的商品, 改价 2 12元, 认领 CODE, 我的资料 ...) runs after it.
Form state is explicit named steps (handlers/states.py) in the SQLite session.
"""
from __future__ import annotations

from decimal import Decimal

from db import listings, sellers
from handlers import seller_manage, seller_profile
from handlers.context import Turn
from handlers.listing_draft import (Draft, merge, price_problem, stock_problem, title_problem,
                                    yuan)
from handlers.notices import notify_restocks
from handlers.router import Router, event_is, intent_is
from handlers.states import FORM, SellForm, data, finish
from handlers.types import Reply
from nlp.normalize import normalise
from nlp.seller import (ListingText, bare_number, field_edit, is_skip, parse_listing, place_of,
                        unit_of)

forms = Router("seller-forms")
router = Router("seller")

START = ("好的，一句话说清楚最快：货名、价格、数量、产地，比如"
         "「我要卖赣南脐橙，三块五一斤，有300斤，江西赣州寻乌县的」。\n先说货名也行。")
CANCELLED = "已取消，什么都没保存。想卖的时候再发「我要卖…」就行。"
NOT_UNDERSTOOD = "没太听明白😅 "
STILL_OPEN = "（您的上架信息还没发布：回复「确认」发布，「取消」放弃。）"
EXPIRED = ("您上次填写的{what}超过30分钟没有完成，已经作废了。"
           "要继续请重新发，比如「我要卖{example}，三块五一斤，有300斤」。")
PUBLISHED = ("已上架✅ {number}号 {title} {price}/{unit}，库存{stock}{unit}，买家现在就能搜到。\n"
             "改价、补货、下架发「我的商品」看编号。")
PENDING = ("已提交审核⏳ {number}号 {title} {price}/{unit}。审核通过后马上上架，并通知您。\n"
           "发「我的商品」可以查看。")
WRONG_UNIT = "您是按{unit}卖的，请说有多少{unit}，比如「300{unit}」。"
CANCEL_WORDS = frozenset({"取消", "算了", "不卖了", "不要了", "不弄了", "不填了", "放弃", "退出",
                          "取消上架", "不上架了", "先不卖了"})
# Intents that are requests of their own, not answers to a form's question.
ELSEWHERE = ("my_orders", "help", "my_listings", "greeting", "thanks")


def _whole(text: str) -> str:
    return normalise(text).replace(" ", "").replace(",", "").rstrip("吧了啊呀")


def _cancels(turn: Turn) -> bool:
    text = _whole(turn.inbound.text)
    return turn.understanding.intent == "cancel" or text in CANCEL_WORDS or (
        text + "了") in CANCEL_WORDS


def _buys(turn: Turn) -> bool:
    norm = normalise(turn.inbound.text)
    return turn.understanding.intent == "search" and any(
        cue in norm for cue in ("买", "有没有", "有吗", "推荐"))


def _message(turn: Turn) -> bool:
    return turn.inbound.kind in ("text", "voice") and bool(turn.inbound.text)


# -- expiry -----------------------------------------------------------------

def _expired_form(turn: Turn) -> bool:
    expired = turn.session.get("expired")
    return isinstance(expired, dict) and isinstance(expired.get(FORM), dict)


@forms.on(_expired_form)
async def form_expired(turn: Turn) -> Reply | None:
    """Tell the user once; a request of its own still gets its answer below the notice."""
    old = turn.session.pop("expired")[FORM]
    draft = Draft.load(old.get("draft"))
    what = f"「{draft.title}」的上架信息" if draft.title else "上架信息"
    if str(old.get("state", "")).startswith("ProfileForm"):
        what = "卖家资料"
    turn.notes.append(EXPIRED.format(what=what, example=draft.title or "土鸡蛋"))
    standalone = turn.understanding.intent in ("sell", "search", "update_listing", *ELSEWHERE)
    if turn.inbound.kind == "event" or standalone or turn.understanding.intent == "choose":
        return None
    return Reply("", intent="form_expired")


# -- the listing form -------------------------------------------------------

def _in_sell_form(turn: Turn) -> bool:
    return SellForm.active(turn.session) is not None and turn.inbound.kind != "event"


def _remember(turn: Turn, draft: Draft) -> Reply:
    """Store the draft and ask for the next missing part, or show the summary."""
    missing = draft.missing()
    step = {"title": SellForm.goods, "price": SellForm.price, "unit": SellForm.price,
            "stock": SellForm.stock, "origin": SellForm.origin, None: SellForm.confirm}[missing]
    step.enter(turn.session, draft=draft.dump())
    return Reply(draft.prompt(missing) if missing else draft.summary(), intent="sell")


def _with_problems(problems: list[str], reply: Reply) -> Reply:
    if problems:
        reply.head = "\n".join([*problems, reply.head])
    return reply


async def start(turn: Turn, said: ListingText | None = None) -> Reply:
    """A new draft from a sell message (or an empty one from the menu)."""
    draft = Draft()
    problems: list[str] = []
    if said is not None:
        draft, problems, _ = merge(draft, said, turn.services.banned_words, take_title=True)
    seller = await turn.services.db.run(sellers.by_openid, turn.inbound.openid)
    if not draft.origin and seller and seller.region:
        draft = Draft.load({**draft.dump(), "origin": place_of(seller.region),
                            "origin_default": True})
    if said is None or draft == Draft():
        SellForm.goods.enter(turn.session, draft=draft.dump())
        return _with_problems(problems, Reply(START, intent="sell"))
    return _with_problems(problems, _remember(turn, draft))


def _targeted(field_name: str, value: str, draft: Draft) -> ListingText:
    """What an explicit edit (价格改成4块, 产地是赣州的) sets."""
    if field_name == "title":
        title = parse_listing(value, anywhere=True).title or value.strip(" 「」\"'")
        return ListingText(title=title or None)
    if field_name == "origin":
        return ListingText(origin=place_of(value))
    if field_name == "unit":
        return ListingText(unit=unit_of(value))
    said = parse_listing(value, unit=draft.unit)
    number = bare_number(value)
    if field_name == "price":
        return ListingText(price=said.price if said.price is not None else number,
                           unit=said.unit if said.price is not None else None)
    return ListingText(stock=said.stock if said.stock is not None else number, unit=draft.unit)


def _answer(turn: Turn, draft: Draft, asked: str | None) -> tuple[ListingText, bool]:
    """(what the message says, whether it may rename the goods)."""
    text = turn.inbound.text
    field_name, value = field_edit(text)
    if field_name and value:
        return _targeted(field_name, value, draft), field_name == "title"
    said = parse_listing(text, anywhere=asked == "title", unit=draft.unit)
    number = bare_number(text)
    if asked == "price" and said.price is None and number is not None:
        said = ListingText(price=number)
    elif asked == "unit" and said.price is None:
        said = ListingText(unit=unit_of(text) or said.unit)
    elif asked == "stock" and said.stock is None and number is not None:
        said = ListingText(stock=number, unit=draft.unit)
    elif asked == "origin" and not said.origin:
        said = ListingText(origin=place_of(text))
    return said, asked == "title" or turn.understanding.intent == "sell"


@forms.on(_in_sell_form)
async def sell_step(turn: Turn) -> Reply | None:
    state = SellForm.active(turn.session)
    draft = Draft.load(data(turn.session).get("draft"))
    kind = turn.inbound.kind
    if kind == "image":
        return await seller_manage.photo_for_draft(turn, draft, _remember)
    if kind == "location":
        origin = place_of(turn.inbound.text)
        if not origin:
            return Reply("没从位置认出地区，请直接打字告诉我，比如「江西赣州寻乌」。", intent="sell")
        return _remember(turn, Draft.load({**draft.dump(), "origin": origin,
                                           "origin_skipped": False, "origin_default": False}))
    if not _message(turn):
        return None
    if _cancels(turn):
        finish(turn.session)
        return Reply(CANCELLED, intent="cancel")
    if state is SellForm.confirm and turn.understanding.intent == "confirm":
        return await publish(turn, draft)
    if turn.understanding.intent == "confirm" and turn.session.get("question"):
        turn.notes.append(STILL_OPEN)
        return None  # a yes to the buyer's question (a restock alert) asked meanwhile
    if turn.understanding.intent in ELSEWHERE or _buys(turn):
        turn.notes.append(STILL_OPEN)  # answered below; the draft waits
        return None
    if turn.understanding.intent == "sell" and state is not SellForm.goods:
        fresh = parse_listing(turn.inbound.text)
        if fresh.title and fresh.title != draft.title:
            return await start(turn, fresh)  # a new listing message replaces the draft
    asked = draft.missing()
    if asked == "origin" and is_skip(turn.inbound.text):
        return _remember(turn, Draft.load({**draft.dump(), "origin_skipped": True}))
    said, take_title = _answer(turn, draft, asked)
    updated, problems, changed = merge(draft, said, turn.services.banned_words, take_title)
    if not changed and not problems:
        hint = WRONG_UNIT.format(unit=draft.unit) if asked == "stock" and draft.unit and (
            parse_listing(turn.inbound.text).stock is not None) else NOT_UNDERSTOOD + (
            draft.prompt(asked) if asked else draft.summary())
        return Reply(hint, intent="sell")
    return _with_problems(problems, _remember(turn, updated))


async def publish(turn: Turn, draft: Draft) -> Reply:
    problems = [p for p in (title_problem(draft.title or "", turn.services.banned_words),
                            price_problem(Decimal(draft.price or 0)),
                            stock_problem(Decimal(draft.stock or 0))) if p]
    if problems or draft.missing():
        return _with_problems(problems, _remember(turn, draft))
    new = draft.to_new_listing()
    created = await turn.services.db.run(listings.create, turn.inbound.openid, new,
                                         turn.services.require_review, turn.now,
                                         turn.inbound.dedupe_key)
    finish(turn.session)
    if created.status == "live":
        await notify_restocks(turn.services)
    values = {"number": created.number, "title": new.title, "price": yuan(new.price_fen),
              "unit": new.unit, "stock": new.stock}
    text = (PUBLISHED if created.status == "live" else PENDING).format(**values)
    question = await seller_profile.begin_onboarding(turn, created.seller_id)
    return Reply("\n\n".join(part for part in (text, question) if part), intent="sell")


@router.on(lambda turn: event_is("click", "SELL")(turn) or intent_is("sell")(turn))
async def sell(turn: Turn) -> Reply:
    if turn.inbound.kind == "event":
        return await start(turn)
    return await start(turn, parse_listing(turn.inbound.text))


# -- profile, claims and management live beside this file ---------------------

forms.include(seller_profile.forms)
forms.include(seller_manage.forms)
router.include(seller_profile.router)  # 手机改成… before 改成 as a price change
router.include(seller_manage.router)


@router.on(intent_is("my_listings"))
async def my_listings(turn: Turn) -> Reply:
    return await seller_manage.my_listings(turn)
