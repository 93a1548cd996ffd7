"""Conversations: buyer, seller and order routers under one root."""
from __future__ import annotations

from handlers import buyer, common, order, seller
from handlers.context import Services, Turn
from handlers.router import Router
from handlers.types import Inbound, Reply

root = Router("root")
root.include(seller.forms)  # a form step may be a photo or a location: before common's answers
root.include(common.router)
root.include(seller.router)
root.include(order.router)
root.include(buyer.router)
root.include(common.fallback)


async def handle(turn: Turn) -> Reply:
    reply = await root.dispatch(turn)
    assert reply is not None  # the fallback router answers everything
    if turn.notes:
        reply.head = "\n\n".join([*turn.notes, reply.head] if reply.head else turn.notes)
    return reply


__all__ = ["Inbound", "Reply", "Services", "Turn", "handle", "root"]
