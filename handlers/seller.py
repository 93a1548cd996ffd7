"""Sellers. Listing by chat arrives with the seller issue; until then, say so honestly."""
from __future__ import annotations

from handlers.context import Turn
from handlers.router import Router, event_is, intent_is
from handlers.types import Reply

router = Router("seller")

SELL_SOON = (
    "卖货功能即将上线🚜 到时直接发「我要卖赣南脐橙，三块五一斤，有300斤」就能上架，"
    "库存和订单也能在这里管理。现在想上架的话，请联系运营帮您导入。"
)


@router.on(lambda turn: event_is("click", "SELL")(turn) or intent_is("sell", "my_listings")(turn))
async def sell_coming(turn: Turn) -> Reply:
    return Reply(SELL_SOON, intent=turn.understanding.intent if turn.inbound.kind != "event" else "sell")
