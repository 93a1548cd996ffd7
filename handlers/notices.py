"""Notices the bot sends on its own; the outbox delivers them."""
from __future__ import annotations

from db import restock
from db.listings import StockOut
from db.moderation import Review
from db.restock import Due
from handlers.context import Services

RESTOCK_TEXT = "🔔 您关注的{product}到货了：{title} {price}。回复「我想买{product}」看看吧。"
APPROVED_TEXT = "✅ 您的{number}号「{title}」审核通过，已经上架，买家现在就能搜到。"
REJECTED_TEXT = "❌ 您的{number}号「{title}」没有通过审核：{reason}。修改后发「上架 {number}」重新提交。"
STOCK_OUT_TEXT = ("⚠️ 您的{number}号「{title}」卖完了，库存为0，买家暂时看不到。"
                  "又有货时说「库存 {number} 100」。")


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


def review_notice(review: Review, approved: bool, reason: str) -> tuple[str, dict[str, str]]:
    """The moderation verdict for the seller (outbox kind listing_review)."""
    fields = {"number": str(review.number or ""), "title": review.title,
              "result": "通过" if approved else "未通过", "reason": reason or ""}
    return (APPROVED_TEXT if approved else REJECTED_TEXT).format(**fields), fields


def stock_out_notice(out: StockOut) -> tuple[str, dict[str, str]]:
    """Stock reached 0 through an order (outbox kind stock_out)."""
    fields = {"number": str(out.number or ""), "title": out.title}
    return STOCK_OUT_TEXT.format(**fields), fields
