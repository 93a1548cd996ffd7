"""How orders read: in chat, on the page and in the notices the outbox delivers.

Every change tells the parties who did not make it (the buyer, the seller); a change
by the system tells both. A buyer who unsubscribed and a seller with no openid yet
are not told (the seller's missed new-order notices wait for notify_seller_backlog).
The buyer's phone is shown whole only in the seller's new-order notice (and on the
buyer's own page); everywhere else it is masked.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from db.orders import CHINA, LABELS, Compose, Event, Notice, Order, new_order_key
from handlers import links
from handlers.context import Services
from handlers.notices import yuan


def mask_phone(phone: str | None) -> str:
    """13812345678 → 138****5678"""
    if not phone:
        return ""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"


# Where an address stops naming the area and starts naming the door.
_AREA_ENDS = "省市区县旗州盟"
_AREA_CHARS = 12


def mask_address(address: str | None) -> str:
    """北京市朝阳区建国路88号 → 北京市朝阳区****: where it goes, not the door."""
    if not address:
        return ""
    ends = [n for n, char in enumerate(address[:_AREA_CHARS]) if char in _AREA_ENDS]
    cut = ends[-1] + 1 if ends else min(3, len(address) // 2)
    if cut >= len(address):
        cut = len(address) // 2
    return re.sub(r"\d", "*", address[:cut]) + "****"


def mask_name(name: str | None) -> str:
    """张三 → 张*: enough to tell two orders apart."""
    if not name:
        return ""
    return name[0] + "*" * max(1, min(len(name) - 1, 3))


def amount(order: Order) -> str:
    return f"{order.quantity}{order.unit}"


def when(at: float) -> str:
    moment = datetime.fromtimestamp(at, CHINA)
    return f"{moment.month}月{moment.day}日 {moment:%H:%M}"


def shipment(order: Order) -> str:
    if order.carrier == "自送":
        return "卖家自己送货"
    return " ".join(part for part in (order.carrier, order.tracking_no) if part)


def summary(order: Order) -> str:
    """One order in a list: 20261201-7K3F9Q 待确认 / title ×3斤 ¥26.40"""
    return f"{order.order_no} {order.label}\n{order.title} ×{amount(order)} {yuan(order.total_fen)}"


def details(order: Order, as_seller: bool) -> str:
    """One order in full for chat: the buyer's own, or the seller's (phone masked for both)."""
    lines = [f"订单 {order.order_no} · {order.label}",
             f"{order.title} ×{amount(order)}，共{yuan(order.total_fen)}"
             f"（{yuan(order.price_fen)}/{order.unit}）"]
    if not as_seller:
        lines.append(f"卖家：{order.seller_name}")
    if order.name or order.phone:
        lines.append(f"收货人：{order.name or ''} {mask_phone(order.phone)}".rstrip())
    if order.address:
        lines.append(f"地址：{order.address}")
    if order.note:
        lines.append(f"备注：{order.note}")
    if order.carrier or order.tracking_no:
        lines.append(f"物流：{shipment(order)}")
    lines.append(f"下单时间：{when(order.created_at)}")
    return "\n".join(lines)


# -- notices ----------------------------------------------------------------------

def _fields(order: Order, **extra: str) -> dict[str, str]:
    return {"order_no": order.order_no, "title": order.title, "quantity": amount(order),
            "total": yuan(order.total_fen), "status": order.label, **extra}


def new_order_notice(order: Order, confirm_hours: int) -> Notice:
    """To the seller: the buyer's details, unmasked, and how to answer."""
    code = order.code
    lines = [f"🛒 新订单 {order.order_no}",
             f"{order.title} ×{amount(order)}，共{yuan(order.total_fen)}",
             f"收货人：{order.name} {order.phone}",
             f"地址：{order.address}"]
    if order.note:
        lines.append(f"备注：{order.note}")
    lines.append(f"请在{confirm_hours}小时内回复「确认订单 {code}」接单；"
                 f"不能发货请回复「取消订单 {code} 原因」。")
    fields = _fields(order, name=order.name or "", phone=order.phone or "",
                     address=order.address or "", note=order.note or "", url="")
    return Notice("order_new", order.seller_openid or "", "\n".join(lines),
                  new_order_key(order.order_no), fields)


def _status_text(order: Order, event: Event, to_buyer: bool, confirm_hours: int,
                 complete_days: int) -> str:
    head = f"订单 {order.order_no}（{order.title} ×{amount(order)}）"
    reason = f"，原因：{event.reason}" if event.reason and event.actor != "system" else ""
    code = order.code
    match event.to_status, event.actor, to_buyer:
        case "confirmed", _, True:
            return f"✅ {head}卖家已确认，发货后会告诉您。"
        case "confirmed", _, False:
            return f"✅ {head}已由平台确认，请尽快发货，发货后回复「发货 {code} 快递公司和单号」。"
        case "shipped", _, True:
            return (f"🚚 {head}已发货：{shipment(order)}。收到后请回复「收到了 {code}」；"
                    f"{complete_days}天后将自动确认收货。")
        case "shipped", _, False:
            return f"🚚 {head}已由平台登记发货：{shipment(order)}。"
        case "completed", "system", _:
            return f"🎉 {head}发货已满{complete_days}天，已自动确认收货，订单完成。"
        case "completed", _, True:
            return f"🎉 {head}已完成，感谢您的支持！"
        case "completed", _, False:
            return f"🎉 {head}买家已确认收货，订单完成。"
        case "cancelled", "system", True:
            return (f"😔 {head}卖家{confirm_hours}小时内没有确认，已自动取消。"
                    "可以再找找别家，比如发「我想买…」。")
        case "cancelled", "system", False:
            return f"⏰ {head}{confirm_hours}小时内没有确认，已自动取消，库存已退回。"
        case "cancelled", "seller", True:
            return f"😔 {head}卖家取消了{reason}。给您添麻烦了，可以再找找别家。"
        case "cancelled", "buyer", False:
            return f"❎ {head}买家已取消{reason}，库存已退回。"
        case "cancelled", _, _:
            return f"❎ {head}已由平台取消{reason}。"
    return f"{head}状态：{LABELS[event.to_status]}。"


def order_url(services: Services, order: Order) -> str:
    """The buyer's own page for this order."""
    token = links.sign_order(services.link_secret, order.order_no, order.buyer)
    return f"{services.public_url.rstrip('/')}/order/{token}"


def status_notices(order: Order, event: Event, confirm_hours: int, complete_days: int,
                   buyer_url: str = "") -> list[Notice]:
    """To every party that did not make the change and can be told."""
    notices = []
    for role, openid in (("buyer", None if order.buyer_left else order.buyer),
                         ("seller", order.seller_openid)):
        if not openid or role == event.actor:
            continue
        text = _status_text(order, event, role == "buyer", confirm_hours, complete_days)
        extra = {"reason": event.reason or "", "url": buyer_url if role == "buyer" else ""}
        if event.to_status == "shipped":
            extra.update(carrier=order.carrier or "", tracking=order.tracking_no or "")
        notices.append(Notice("order_status", openid, text,
                              f"order_status:{order.order_no}:{event.to_status}:{role}",
                              _fields(order, **extra)))
    return notices


def composer(services: Services) -> Compose:
    """The notices of a change, as db.orders queues them inside its transaction."""
    settings = services.orders

    def compose(order: Order, event: Event) -> Sequence[Notice]:
        if event.from_status is None:
            return [new_order_notice(order, settings.confirm_hours)] if order.seller_openid else []
        return status_notices(order, event, settings.confirm_hours, settings.complete_days,
                              order_url(services, order))
    return compose
