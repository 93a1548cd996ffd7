"""Notices the bot sends on its own; the outbox delivers them."""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from db import moderation, restock
from db.listings import StockOut
from db.moderation import Review
from db.restock import Due
from handlers.context import Services

RESTOCK_TEXT = "🔔 您关注的{product}到货了：{title} {price}。回复「我想买{product}」看看吧。"
APPROVED_TEXT = "✅ 您的{number}号「{title}」审核通过，已经上架，买家现在就能搜到。"
REJECTED_TEXT = "❌ 您的{number}号「{title}」没有通过审核：{reason}。修改后发「上架 {number}」重新提交。"
DELISTED_TEXT = ("⚠️ 您的{number}号「{title}」已被平台下架：{reason}。"
                 "修改后发「上架 {number}」，审核通过后会重新上架。")
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


def delist_notice(review: Review, reason: str) -> tuple[str, dict[str, str]]:
    """An operator took the listing off sale (outbox kind listing_review)."""
    fields = {"number": str(review.number or ""), "title": review.title, "result": "已下架",
              "reason": reason}
    return DELISTED_TEXT.format(**fields), fields


@dataclass(frozen=True)
class Verdict:
    outcome: str            # approved | rejected | missing | not pending
    listing: Review | None
    alerts: int             # restock alerts the approval answered


def moderate(conn: sqlite3.Connection, listing_id: int, approve: bool, reason: str,
             operator: str, client: str = "", now: float | None = None) -> Verdict:
    """An operator's verdict on a pending listing, from the console or the CLI alike: the
    status, the seller's notice and the audit entry in one transaction, then the restock
    alerts an approval answers (housekeeping would find them within a minute anyway)."""
    now = time.time() if now is None else now
    outcome, listing = moderation.decide(conn, listing_id, approve, reason, review_notice, now,
                                         operator, client)
    alerts = restock.notify_due(conn, restock_notice) if outcome == "approved" else 0
    return Verdict(outcome, listing, alerts)


def stock_out_notice(out: StockOut) -> tuple[str, dict[str, str]]:
    """Stock reached 0 through an order (outbox kind stock_out)."""
    fields = {"number": str(out.number or ""), "title": out.title}
    return STOCK_OUT_TEXT.format(**fields), fields
