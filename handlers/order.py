"""Orders in chat, for buyers and sellers, and the order jobs.

Buyer: 我的订单, 订单 N, 取消订单 N [原因] (before shipping), 收到了 N.
Seller: 确认订单 N, 发货 N 顺丰SF1234567890, 取消订单 N 原因.
N is an order number, its six-character code, or a position in the list 我的订单
showed last. Who may make which change is db.orders.TRANSITIONS; here we only work
out whether this user is the order's buyer or its seller. Someone else's order is
"not found", never "not yours".
"""
from __future__ import annotations

import time
from typing import Any

from db import orders
from db.orders import Changed, Order, Refused
from handlers.context import Services, Turn
from handlers.order_notices import composer, details, shipment, summary
from handlers.router import Router, event_is, intent_is
from handlers.types import Reply

router = Router("order")

LIST_LIMIT = 10
NO_ORDERS = "您还没有订单。想买什么直接告诉我，比如「我想买脐橙」，点回复里的「下单」就能买。"
BOUGHT = "您买的订单："
SOLD = "您卖出的订单（待处理的在前）："
BUYER_TAIL = "「取消订单 1」在发货前取消，收到货后回复「收到了 1」"
SELLER_TAIL = "「确认订单 1」接单，「发货 1 顺丰SF1234567890」发货，「取消订单 1 原因」取消"
NOT_FOUND = "没有找到订单「{ref}」。发「我的订单」看看您的订单和编号。"
NO_LIST = "请先发「我的订单」看看编号，再说「{example}」。"
WHICH = "是哪个订单呢？{candidates}请回复「{command} 订单号」，比如「{command} {code}」。"
NONE_TO_ACT = "您没有{what}的订单。发「我的订单」看看全部订单。"
SELLER_ONLY = "「{what}」要由卖家来操作。"
BUYER_ONLY = "「确认收货」要由买家来操作；买家收到后会确认，{days}天后也会自动完成。"
NEED_REASON = "取消订单请说明原因，买家会看到，比如「取消订单 {code} 缺货了」。"
NEED_TRACKING = ("请带上快递公司和单号，比如「发货 {code} 顺丰SF1234567890」；"
                 "自己送货请回复「发货 {code} 自己送」。")
DONE = {
    "confirmed": "✅ 已确认订单 {no}，已通知买家。发货后回复「发货 {code} 快递公司和单号」。",
    "shipped": "🚚 已登记发货：订单 {no}，{how}，已通知买家。",
    "completed": "🎉 已确认收货，订单 {no} 完成，感谢支持！",
    "cancelled": "❎ 已取消订单 {no}，已通知{other}。",
}
# Why a change cannot happen from the order's present status, said to the user.
CLOSED_ALREADY = {"cancelled": "订单 {no} 已经取消了。", "completed": "订单 {no} 已经完成了。"}
STUCK = {
    ("cancel", "shipped"): "订单 {no} 已发货，不能取消了。{after_shipping}",
    ("confirm", "confirmed"): "订单 {no} 已经确认过了，发货后回复「发货 {code} 快递公司和单号」。",
    ("confirm", "shipped"): "订单 {no} 已经发货了。",
    ("ship", "placed"): "订单 {no} 还没有确认，请先回复「确认订单 {code}」再发货。",
    ("ship", "shipped"): "订单 {no} 已经登记发货了：{how}。",
    ("received", "placed"): "订单 {no} 还没有发货，发货后才能确认收货。",
    ("received", "confirmed"): "订单 {no} 还没有发货，发货后才能确认收货。",
}
AFTER_SHIPPING = {"buyer": "收到后回复「收到了 {code}」；货有问题请联系卖家。", "seller": ""}
ACTION_STATUS = {"cancel": "cancelled", "received": "completed", "confirm": "confirmed",
                 "ship": "shipped"}
COMMAND = {"cancel": "取消订单", "received": "收到了", "confirm": "确认订单", "ship": "发货",
           "show": "订单"}
# Which side a user acts as on an order where they are both (a seller buying their own goods).
PREFERRED_ROLE = {"confirm": "seller", "ship": "seller", "received": "buyer", "cancel": "seller",
                  "show": "buyer"}


def _orders_turn(turn: Turn) -> bool:
    return event_is("click", "ORDERS")(turn) or intent_is("my_orders")(turn)


@router.on(_orders_turn)
async def orders_turn(turn: Turn) -> Reply:
    slots = turn.understanding.slots if turn.inbound.kind != "event" else {}
    action = slots.get("action")
    if action is None:
        return await list_orders(turn)
    found = await _find(turn, action, slots)
    if isinstance(found, Reply):
        return found
    order, role = found
    if action == "show":
        return Reply(details(order, as_seller=role == "seller"), intent="order_show")
    return await _act(turn, order, role, action, slots)


# -- listing ----------------------------------------------------------------------

async def list_orders(turn: Turn) -> Reply:
    openid = turn.inbound.openid
    db = turn.services.db
    bought = await db.run(orders.for_buyer, openid, LIST_LIMIT)
    seller_id = await db.run(orders.seller_of, openid)
    sold = await db.run(orders.for_seller, seller_id, LIST_LIMIT) if seller_id else []
    if not bought and not sold:
        turn.session.pop("orders", None)
        return Reply(NO_ORDERS, intent="my_orders")
    items: list[str] = []
    numbered: list[int] = []
    for heading, group in ((SOLD, sold), (BOUGHT, bought)):
        for n, o in enumerate(group):  # one item each: what does not fit is dropped whole
            numbered.append(o.id)
            items.append(f"{heading}\n" * (n == 0) + f"{len(numbered)}. {summary(o)}")
    turn.session["orders"] = numbered
    if sold and bought:
        tail = f"回复「订单 1」看详情。卖出的：{SELLER_TAIL}；买的：{BUYER_TAIL}。"
    else:
        tail = f"回复「订单 1」看详情，{SELLER_TAIL if sold else BUYER_TAIL}。"
    return Reply("", items=items, tail=tail, intent="my_orders")


# -- finding the order a command means ------------------------------------------------

def _role(order: Order, openid: str, action: str) -> str | None:
    roles = [role for role, who in (("buyer", order.buyer), ("seller", order.seller_openid))
             if who == openid]
    if not roles:
        return None
    return PREFERRED_ROLE[action] if PREFERRED_ROLE[action] in roles else roles[0]


async def _find(turn: Turn, action: str, slots: dict[str, Any]) -> tuple[Order, str] | Reply:
    openid = turn.inbound.openid
    db = turn.services.db
    if "order_no" in slots:
        candidates = await db.run(orders.by_number, slots["order_no"])
        mine = [(o, r) for o in candidates if (r := _role(o, openid, action))]
        return mine[0] if mine else Reply(NOT_FOUND.format(ref=slots["order_no"]),
                                          intent=f"order_{action}", outcome="no_match")
    if "index" in slots:
        listed = turn.session.get("orders") or []
        index = slots["index"]
        if not listed:
            return Reply(NO_LIST.format(example=f"{COMMAND[action]} {index}"),
                         intent=f"order_{action}")
        order = await db.run(orders.get, listed[index - 1]) if index <= len(listed) else None
        role = _role(order, openid, action) if order else None
        if order is None or role is None:
            return Reply(NOT_FOUND.format(ref=index), intent=f"order_{action}", outcome="no_match")
        return order, role
    return await _which(turn, action)


async def _which(turn: Turn, action: str) -> Reply:
    """A command without an order: never guess; name the orders it could mean."""
    openid = turn.inbound.openid
    db = turn.services.db
    target = ACTION_STATUS.get(action)
    seller_id = await db.run(orders.seller_of, openid)
    pool = await db.run(orders.for_buyer, openid, LIST_LIMIT)
    if seller_id:
        pool += await db.run(orders.for_seller, seller_id, LIST_LIMIT)
    fitting = [o for o in pool if target is None or (
        (role := _role(o, openid, action)) and orders.allowed(o.status, target, role))]
    if not fitting:
        what = {"cancel": "可以取消", "received": "待收货", "confirm": "待确认",
                "ship": "待发货", "show": ""}[action]
        return Reply(NONE_TO_ACT.format(what=what), intent=f"order_{action}")
    candidates = "".join(f"\n{summary(o)}\n" for o in fitting[:5])
    return Reply(WHICH.format(candidates=candidates, command=COMMAND[action],
                              code=fitting[0].code), intent=f"order_{action}")


# -- changing ---------------------------------------------------------------------------

async def _act(turn: Turn, order: Order, role: str, action: str,
               slots: dict[str, Any]) -> Reply:
    intent = f"order_{action}"
    target = ACTION_STATUS[action]
    refusal = _precondition(order, role, action, slots)
    if refusal:
        return Reply(refusal, intent=intent, outcome="no_match")
    result = await turn.services.db.run(
        orders.change, order.id, target, role, time.time(), composer(turn.services),
        slots.get("reason"), slots.get("carrier"), slots.get("tracking"))
    if isinstance(result, Refused):
        return Reply(_refusal(result, role, action, turn.services), intent=intent,
                     outcome="no_match")
    turn.services.wake_outbox()
    return Reply(_done(result, role), intent=intent)


def _precondition(order: Order, role: str, action: str, slots: dict[str, Any]) -> str | None:
    """What the transition table cannot say: a seller's reason, a tracking number."""
    if not orders.allowed(order.status, ACTION_STATUS[action], role):
        return None  # the change itself explains the refusal
    if action == "cancel" and role == "seller" and not slots.get("reason"):
        return NEED_REASON.format(code=order.code)
    if action == "ship" and not slots.get("tracking") and slots.get("carrier") != "自送":
        return NEED_TRACKING.format(code=order.code)
    return None


def _refusal(result: Refused, role: str, action: str, services: Services) -> str:
    order = result.order
    if order is None:
        return NOT_FOUND.format(ref="")
    target = ACTION_STATUS[action]
    if order.status in CLOSED_ALREADY:
        return CLOSED_ALREADY[order.status].format(no=order.order_no)
    if not any(orders.allowed(status, target, role) for status in orders.STATUSES):
        if action == "received":
            return BUYER_ONLY.format(days=services.orders.complete_days)
        return SELLER_ONLY.format(what=COMMAND[action])
    text = STUCK.get((action, order.status), "")
    after = AFTER_SHIPPING[role].format(code=order.code)
    return text.format(no=order.order_no, code=order.code, how=shipment(order),
                       after_shipping=after) or f"订单 {order.order_no} 现在是「{order.label}」。"


def _done(result: Changed, role: str) -> str:
    order = result.order
    return DONE[order.status].format(no=order.order_no, code=order.code, how=shipment(order),
                                     other="买家" if role == "seller" else "卖家")


# -- jobs ----------------------------------------------------------------------------------

async def close_due(services: Services, now: float | None = None) -> dict[str, int]:
    """Cancel orders not confirmed in time (stock restored), complete long-shipped ones.

    Every process runs this every minute; each change is conditional, so an order is
    closed, and its stock and notices handled, exactly once.
    """
    settings = services.orders
    reasons = {"cancelled": f"卖家{settings.confirm_hours}小时内未确认",
               "completed": f"发货满{settings.complete_days}天自动确认收货"}
    done = await services.db.run(
        orders.close_due, time.time() if now is None else now, settings.confirm_hours * 3600,
        settings.complete_days * 86400, composer(services), reasons)
    if any(done.values()):
        services.wake_outbox()
    return done


async def notify_seller_backlog(services: Services, seller_id: int) -> int:
    """Queue the new-order notices a seller missed before they had an openid (the claim
    flow calls this once the seller is linked to a WeChat user); returns how many."""
    told = await services.db.run(orders.notify_backlog, seller_id, time.time(),
                                 composer(services))
    if told:
        services.wake_outbox()
    return told
