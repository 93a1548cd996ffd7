"""Orders. The order flow arrives with the order issue; until then, say so honestly."""
from __future__ import annotations

from handlers.context import Turn
from handlers.router import Router, event_is, intent_is
from handlers.types import Reply

router = Router("order")

ORDERS_SOON = (
    "订单功能即将上线📦 到时点「我的订单」就能查看下单记录、物流和付款状态。"
    "现在可以先发货名找货，比如「我想买脐橙」。"
)


@router.on(lambda turn: event_is("click", "ORDERS")(turn) or intent_is("my_orders")(turn))
async def orders_coming(turn: Turn) -> Reply:
    return Reply(ORDERS_SOON, intent="my_orders")
