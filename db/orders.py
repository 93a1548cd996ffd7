"""Orders: placing one against stock, the status machine, history and erasure.

Every change is one transaction: the conditional UPDATE that makes it, the stock it
takes or gives back, its order_events row and the notices it causes (through the
outbox). A change that lost a race changes nothing, so each happens exactly once,
across threads and processes.
"""
from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from db import listings, messages, outbox
from db.database import transaction

STATUSES = ("placed", "confirmed", "shipped", "completed", "cancelled")
LABELS = {"placed": "待确认", "confirmed": "已确认", "shipped": "已发货", "completed": "已完成",
          "cancelled": "已取消"}
OPEN = ("placed", "confirmed", "shipped")
CLOSED = ("completed", "cancelled")
ACTORS = ("buyer", "seller", "operator", "system")

# Who may make each change: the one place that says so. Anything absent is refused.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("placed", "confirmed"): frozenset({"seller", "operator"}),
    ("placed", "cancelled"): frozenset({"buyer", "seller", "operator", "system"}),  # system: not confirmed in time
    ("confirmed", "shipped"): frozenset({"seller", "operator"}),
    ("confirmed", "cancelled"): frozenset({"buyer", "seller", "operator"}),
    ("shipped", "completed"): frozenset({"buyer", "operator", "system"}),  # system: delivered long enough ago
}

# Order numbers: China's date, then six characters from an alphabet without 0/O, 1/I/L
# (read over the phone), always mixing digits and letters so a code never looks like
# a word or a quantity. 31^6 ≈ 8.9e8 codes a day: not guessable, and unique by constraint.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
CHINA = timezone(timedelta(hours=8))
_NUMBER_TRIES = 8


def order_number(now: float, choice: Callable[[str], str] = secrets.choice) -> str:
    day = datetime.fromtimestamp(now, CHINA).strftime("%Y%m%d")
    while True:
        code = "".join(choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if any(c.isdigit() for c in code) and any(c.isalpha() for c in code):
            return f"{day}-{code}"


@dataclass(frozen=True)
class Order:
    id: int
    order_no: str
    listing_id: int
    seller_id: int
    seller_name: str
    seller_openid: str | None
    buyer: str
    buyer_left: bool
    title: str
    unit: str
    price_fen: int
    quantity: int
    total_fen: int
    name: str | None
    phone: str | None
    address: str | None
    note: str | None
    status: str
    cancelled_by: str | None
    carrier: str | None
    tracking_no: str | None
    seller_notified_at: float | None
    created_at: float
    status_at: float

    @property
    def label(self) -> str:
        return LABELS[self.status]

    @property
    def code(self) -> str:
        """The part after the date: what people read out."""
        return self.order_no.partition("-")[2]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


_SELECT = (
    "SELECT o.id, o.order_no, o.listing_id, o.seller_id, s.name AS seller_name,"
    " s.openid AS seller_openid, o.buyer, o.buyer_left, o.title, o.unit, o.price_fen,"
    " o.quantity, o.total_fen, o.name, o.phone, o.address, o.note, o.status, o.cancelled_by,"
    " o.carrier, o.tracking_no, o.seller_notified_at, o.created_at, o.status_at"
    " FROM orders AS o JOIN sellers AS s ON s.id = o.seller_id")


def _order(row: sqlite3.Row) -> Order:
    values = dict(row)
    values["buyer_left"] = bool(values["buyer_left"])
    return Order(**values)


@dataclass(frozen=True)
class Event:
    """One change of status, as the notices describe it."""
    from_status: str | None  # None: the order was just placed
    to_status: str
    actor: str
    reason: str | None = None


@dataclass(frozen=True)
class Notice:
    kind: str
    openid: str
    text: str
    key: str
    fields: dict[str, Any] = field(default_factory=dict)


Compose = Callable[[Order, Event], Sequence[Notice]]


def _enqueue(conn: sqlite3.Connection, notices: Sequence[Notice], now: float) -> None:
    for notice in notices:
        outbox.enqueue(conn, notice.kind, notice.openid, notice.text, notice.key,
                       notice.fields, now)


def _record(conn: sqlite3.Connection, order_id: int, event: Event, now: float,
            actor_name: str | None = None) -> None:
    conn.execute("INSERT INTO order_events (order_id, from_status, to_status, actor, actor_name,"
                 " reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (order_id, event.from_status, event.to_status, event.actor, actor_name,
                  event.reason, now))


# -- reading ---------------------------------------------------------------------

def get(conn: sqlite3.Connection, order_id: int) -> Order | None:
    row = conn.execute(f"{_SELECT} WHERE o.id = ?", (order_id,)).fetchone()
    return _order(row) if row else None


def by_number(conn: sqlite3.Connection, number: str) -> list[Order]:
    """A whole order number, or only its code (newest first when codes repeat across days)."""
    number = number.strip().upper()
    if "-" in number:
        rows = conn.execute(f"{_SELECT} WHERE o.order_no = ?", (number,)).fetchall()
    else:
        rows = conn.execute(f"{_SELECT} WHERE substr(o.order_no, 10) = ? ORDER BY o.id DESC",
                            (number,)).fetchall()
    return [_order(row) for row in rows]


def by_form_key(conn: sqlite3.Connection, form_key: str) -> Order | None:
    """The order an order form already created, if it did."""
    row = conn.execute(f"{_SELECT} WHERE o.form_key = ?", (form_key,)).fetchone()
    return _order(row) if row else None


def for_buyer(conn: sqlite3.Connection, openid: str, limit: int = 10) -> list[Order]:
    rows = conn.execute(f"{_SELECT} WHERE o.buyer = ? ORDER BY o.id DESC LIMIT ?",
                        (openid, limit)).fetchall()
    return [_order(row) for row in rows]


def for_seller(conn: sqlite3.Connection, seller_id: int, limit: int = 10) -> list[Order]:
    """Open orders first (what needs doing), then the most recent closed ones."""
    rows = conn.execute(
        f"{_SELECT} WHERE o.seller_id = ? ORDER BY o.status IN ('completed', 'cancelled'),"
        " o.id DESC LIMIT ?", (seller_id, limit)).fetchall()
    return [_order(row) for row in rows]


def seller_of(conn: sqlite3.Connection, openid: str) -> int | None:
    """The seller this WeChat user is, if any."""
    row = conn.execute("SELECT id FROM sellers WHERE openid = ?", (openid,)).fetchone()
    return row[0] if row else None


def history(conn: sqlite3.Connection, order_id: int) -> list[sqlite3.Row]:
    return conn.execute("SELECT from_status, to_status, actor, actor_name, reason, at"
                        " FROM order_events WHERE order_id = ? ORDER BY id",
                        (order_id,)).fetchall()


# -- placing -----------------------------------------------------------------------

@dataclass(frozen=True)
class NewOrder:
    listing_id: int
    buyer: str
    quantity: int
    name: str
    phone: str
    address: str
    note: str
    form_key: str


@dataclass(frozen=True)
class Placed:
    order: Order
    fresh: bool  # False: this form was submitted before, and this is that order


@dataclass(frozen=True)
class SoldOut:
    stock: int


@dataclass(frozen=True)
class Gone:
    """The listing was delisted or never existed."""


def place(conn: sqlite3.Connection, new: NewOrder, now: float, compose: Compose,
          stock_out: listings.StockOutCompose,
          number: Callable[[float], str] = order_number) -> Placed | SoldOut | Gone:
    """Take the stock and record the order with its notices (the seller's stock_out
    too, when this order takes the last unit), or change nothing."""
    with transaction(conn):
        before = conn.execute("SELECT id FROM orders WHERE form_key = ?",
                              (new.form_key,)).fetchone()
        if before:
            return Placed(_must_get(conn, before[0]), fresh=False)
        listing = conn.execute("SELECT seller_id, title, unit, price_fen, stock, status"
                               " FROM listings WHERE id = ?", (new.listing_id,)).fetchone()
        if listing is None or listing["status"] != "live":
            return Gone()
        # Still live: BEGIN IMMEDIATE holds the write lock since the check above.
        if not listings.take_stock(conn, new.listing_id, new.quantity, stock_out, now):
            return SoldOut(listing["stock"])
        order_id = _insert(conn, new, listing, now, number)
        placed = Event(None, "placed", "buyer")
        _record(conn, order_id, placed, now)
        order = _must_get(conn, order_id)
        _enqueue(conn, compose(order, placed), now)
        if order.seller_openid:
            conn.execute("UPDATE orders SET seller_notified_at = ? WHERE id = ?", (now, order_id))
    return Placed(_must_get(conn, order_id), fresh=True)


def _insert(conn: sqlite3.Connection, new: NewOrder, listing: sqlite3.Row, now: float,
            number: Callable[[float], str]) -> int:
    """Insert under a fresh number; a clash (one in ~1e9 a day) just draws again."""
    for _ in range(_NUMBER_TRIES):
        try:
            return conn.execute(
                "INSERT INTO orders (order_no, listing_id, seller_id, buyer, title, unit,"
                " price_fen, quantity, total_fen, name, phone, address, note, status, form_key,"
                " created_at, status_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'placed',"
                " ?, ?, ?) RETURNING id",
                (number(now), new.listing_id, listing["seller_id"], new.buyer, listing["title"],
                 listing["unit"], listing["price_fen"], new.quantity,
                 listing["price_fen"] * new.quantity, new.name, new.phone, new.address,
                 new.note or None, new.form_key, now, now)).fetchone()[0]
        except sqlite3.IntegrityError as exc:  # the statement is undone; the transaction lives
            if "order_no" not in str(exc):
                raise
    raise RuntimeError(f"no free order number after {_NUMBER_TRIES} draws")


def _must_get(conn: sqlite3.Connection, order_id: int) -> Order:
    order = get(conn, order_id)
    assert order is not None
    return order


# -- changing ------------------------------------------------------------------------

@dataclass(frozen=True)
class Changed:
    order: Order
    before: str


@dataclass(frozen=True)
class Refused:
    why: str  # missing | status (no such change from here) | actor (not theirs to make)
    order: Order | None


def allowed(from_status: str, to_status: str, actor: str) -> bool:
    return actor in TRANSITIONS.get((from_status, to_status), frozenset())


def change(conn: sqlite3.Connection, order_id: int, to_status: str, actor: str, now: float,
           compose: Compose, reason: str | None = None, carrier: str | None = None,
           tracking_no: str | None = None, actor_name: str | None = None) -> Changed | Refused:
    with transaction(conn):
        return _change(conn, order_id, to_status, actor, now, compose, reason, carrier,
                       tracking_no, actor_name)


def _change(conn: sqlite3.Connection, order_id: int, to_status: str, actor: str, now: float,
            compose: Compose, reason: str | None, carrier: str | None, tracking_no: str | None,
            actor_name: str | None) -> Changed | Refused:
    order = get(conn, order_id)
    if order is None:
        return Refused("missing", None)
    rights = TRANSITIONS.get((order.status, to_status))
    if rights is None:
        return Refused("status", order)
    if actor not in rights:
        return Refused("actor", order)
    closing = to_status in CLOSED
    updated = conn.execute(
        "UPDATE orders SET status = :to, status_at = :now,"
        " cancelled_by = CASE WHEN :to = 'cancelled' THEN :actor ELSE cancelled_by END,"
        " carrier = coalesce(:carrier, carrier), tracking_no = coalesce(:tracking, tracking_no),"
        f" {_ERASE_IF_LEFT} WHERE id = :id AND status = :from",
        {"to": to_status, "now": now, "actor": actor, "carrier": carrier,
         "tracking": tracking_no, "closing": int(closing), "id": order_id,
         "from": order.status}).rowcount
    if updated != 1:  # another writer changed it first
        return Refused("status", get(conn, order_id))
    if to_status == "cancelled":  # only the one winning change gets here: restored once
        conn.execute("UPDATE listings SET stock = stock + ? WHERE id = ?",
                     (order.quantity, order.listing_id))
    if closing and order.buyer_left:
        _erase_copies(conn, order, now)
    event = Event(order.status, to_status, actor, reason)
    _record(conn, order_id, event, now, actor_name)
    after = _must_get(conn, order_id)
    _enqueue(conn, compose(after, event), now)
    return Changed(after, order.status)


# Delivery details outlive an unsubscribe only while the order is open.
_PERSONAL = ("name", "phone", "address", "note")


def _erase_when(condition: str) -> str:
    return ", ".join(f"{column} = CASE WHEN {condition} THEN NULL ELSE {column} END"
                     for column in _PERSONAL)


_ERASE_IF_LEFT = _erase_when(":closing AND buyer_left")


def due(conn: sqlite3.Connection, now: float, confirm_seconds: float,
        complete_seconds: float, limit: int = 200) -> list[tuple[int, str]]:
    """Orders the system must close now: (id, new status)."""
    rows = conn.execute(
        "SELECT id, 'cancelled' FROM orders WHERE status = 'placed' AND status_at <= ?"
        " UNION ALL SELECT id, 'completed' FROM orders WHERE status = 'shipped' AND status_at <= ?"
        " LIMIT ?", (now - confirm_seconds, now - complete_seconds, limit)).fetchall()
    return [(row[0], row[1]) for row in rows]


def close_due(conn: sqlite3.Connection, now: float, confirm_seconds: float,
              complete_seconds: float, compose: Compose,
              reasons: dict[str, str]) -> dict[str, int]:
    """The automatic transitions, each conditional: safe to run in every process at once."""
    done = {"cancelled": 0, "completed": 0}
    with transaction(conn):
        for order_id, to_status in due(conn, now, confirm_seconds, complete_seconds):
            result = _change(conn, order_id, to_status, "system", now, compose,
                             reasons.get(to_status), None, None, f"auto_{to_status}")
            if isinstance(result, Changed):
                done[to_status] += 1
    return done


# -- the seller's missed notices and the buyer's erasure ------------------------------

def notify_backlog(conn: sqlite3.Connection, seller_id: int, now: float,
                   compose: Compose) -> int:
    """Queue the new-order notices a seller missed while they had no openid."""
    told = 0
    with transaction(conn):
        rows = conn.execute("SELECT id FROM orders WHERE seller_id = ?"
                            " AND seller_notified_at IS NULL ORDER BY id", (seller_id,)).fetchall()
        for (order_id,) in rows:
            order = _must_get(conn, order_id)
            if not order.seller_openid:
                return 0
            if order.is_open:
                notices = [n for n in compose(order, Event(None, "placed", "buyer"))
                           if n.openid == order.seller_openid]
                _enqueue(conn, notices, now)
                told += 1
            conn.execute("UPDATE orders SET seller_notified_at = ? WHERE id = ?", (now, order_id))
    return told


def erase_buyer(conn: sqlite3.Connection, openid: str, alias: str, now: float) -> None:
    """Unsubscribe, inside the caller's transaction: the buyer's openid becomes the alias
    on every order; closed orders lose name, phone, address and note now, open ones at
    close (their seller still has to deliver)."""
    closed = [_must_get(conn, row[0]) for row in conn.execute(
        "SELECT id FROM orders WHERE buyer = ? AND status IN ('completed', 'cancelled')",
        (openid,))]
    erase_closed = _erase_when("status IN ('completed', 'cancelled')")
    conn.execute(f"UPDATE orders SET buyer = ?, buyer_left = 1, {erase_closed} WHERE buyer = ?",
                 (alias, openid))
    for order in closed:
        _erase_copies(conn, replace(order, buyer=alias), now)


ERASED = "[已删除]"


def _erase_copies(conn: sqlite3.Connection, order: Order, now: float) -> None:
    """Where else the details were written: the seller's new-order notice (kept as history
    only), and the replies that showed them (the seller's notice, either side's 订单 N) in
    the message log and the retry cache, where each detail becomes [已删除]."""
    outbox.erase_texts(conn, [new_order_key(order.order_no)], now)
    found_by = [d for d in (order.phone, order.address) if d]
    if not found_by:
        return
    values = [d for d in (*found_by, order.name, order.note) if d]
    rewrite = "reply"
    for _ in values:
        rewrite = f"replace({rewrite}, ?, '{ERASED}')"
    readers = [who for who in (order.buyer, order.seller_openid) if who]
    where = (f"openid IN ({','.join('?' * len(readers))})"
             f" AND ({' OR '.join(['instr(reply, ?) > 0'] * len(found_by))})")
    logged = [row[0] for row in conn.execute(f"SELECT id FROM message_log WHERE {where}",
                                             [*readers, *found_by])]
    for table in ("message_log", "dedupe"):
        conn.execute(f"UPDATE {table} SET reply = {rewrite} WHERE {where}",
                     [*values, *readers, *found_by])
    messages.reindex(conn, logged)  # the search index forgets the details too


def new_order_key(order_no: str) -> str:
    return f"order_new:{order_no}"
