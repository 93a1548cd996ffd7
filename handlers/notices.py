"""Notices the bot sends on its own; the outbox delivers them."""
from __future__ import annotations

from db import restock
from db.restock import Due
from handlers.context import Services

RESTOCK_TEXT = "🔔 您关注的{product}到货了：{title} {price}。回复「我想买{product}」看看吧。"


def yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def restock_notice(due: Due) -> tuple[str, dict[str, str]]:
    price = f"{yuan(due.price_fen)}/{due.unit}"
    fields = {"product": due.product, "title": due.title, "price": price}
    return RESTOCK_TEXT.format(**fields), fields


async def notify_restocks(services: Services) -> int:
    """Queue one notice per buyer waiting for a product that is now live; each told once."""
    told = await services.db.run(restock.notify_due, restock_notice)
    if told:
        services.wake_outbox()
    return told
