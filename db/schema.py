"""Versioned schema: PRAGMA user_version plus forward-only migrations."""
from __future__ import annotations

import sqlite3

V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sellers (
    id INTEGER PRIMARY KEY,
    ident TEXT NOT NULL UNIQUE,          -- phone when known, else 'name:' + name
    name TEXT NOT NULL,
    phone TEXT,
    openid TEXT UNIQUE,
    assisted INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE listings (
    id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL UNIQUE,
    seller_id INTEGER NOT NULL REFERENCES sellers(id),
    title TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    price_fen INTEGER NOT NULL CHECK (price_fen >= 0),
    unit TEXT NOT NULL,
    stock INTEGER NOT NULL CHECK (stock >= 0),
    origin TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL CHECK (status IN ('live', 'pending', 'delisted')),
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX listings_seller ON listings(seller_id);
-- Segmented text (jieba search mode, space-joined); rowid = listings.id.
CREATE VIRTUAL TABLE listings_fts USING fts5(title, category, tags, description, origin);
CREATE TABLE sessions (
    openid TEXT PRIMARY KEY,
    state TEXT NOT NULL DEFAULT '{}',
    latitude REAL,
    longitude REAL,
    updated_at REAL NOT NULL
);
CREATE TABLE message_log (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    openid TEXT,
    msg_type TEXT NOT NULL,
    text TEXT,
    intent TEXT,
    reply TEXT,
    latency_ms INTEGER,
    outcome TEXT NOT NULL
        CHECK (outcome IN ('answered', 'no_match', 'error', 'deadline', 'rejected'))
);
CREATE INDEX message_log_at ON message_log(at);
CREATE INDEX message_log_openid ON message_log(openid, at);
CREATE TABLE dedupe (
    key TEXT PRIMARY KEY,
    openid TEXT NOT NULL,
    owner TEXT NOT NULL,
    lease_until REAL NOT NULL,
    reply TEXT,                          -- rendered plain reply XML; '' means success
    created_at REAL NOT NULL
);
CREATE INDEX dedupe_openid ON dedupe(openid);
CREATE INDEX dedupe_created ON dedupe(created_at);
CREATE TABLE pending_replies (
    id INTEGER PRIMARY KEY,
    openid TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX pending_replies_openid ON pending_replies(openid, id);
CREATE TABLE unmet_demand (
    id INTEGER PRIMARY KEY,
    openid TEXT,
    text TEXT NOT NULL,
    product TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX unmet_demand_openid ON unmet_demand(openid);
"""

# v2: customer-service quotas, restock alerts, and structured unmet demand.
V2 = """
CREATE TABLE cs_quota (
    inbound_key TEXT PRIMARY KEY,
    openid TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('message', 'event')),
    trigger_at REAL NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cs_quota_openid ON cs_quota(openid);
CREATE TABLE restock_alerts (
    id INTEGER PRIMARY KEY,
    openid TEXT NOT NULL,
    product TEXT NOT NULL,
    created_at REAL NOT NULL,
    notified_at REAL
);
CREATE INDEX restock_alerts_openid ON restock_alerts(openid);
ALTER TABLE unmet_demand ADD COLUMN origin TEXT;
ALTER TABLE unmet_demand ADD COLUMN price_max_fen INTEGER;
"""

# v3: canonical goods and per-斤 pricing on listings, orders for seller reliability.
V3 = """
ALTER TABLE listings ADD COLUMN product TEXT;
ALTER TABLE listings ADD COLUMN weight_factor REAL;   -- 斤 per unit; NULL when counted
ALTER TABLE listings ADD COLUMN index_version INTEGER NOT NULL DEFAULT 0;
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    listing_id INTEGER NOT NULL REFERENCES listings(id),
    seller_id INTEGER NOT NULL REFERENCES sellers(id),
    buyer TEXT NOT NULL,
    quantity REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('placed', 'fulfilled', 'cancelled')),
    created_at REAL NOT NULL
);
CREATE INDEX orders_seller ON orders(seller_id, status);
CREATE INDEX orders_buyer ON orders(buyer);
"""

# v4: the outbox, one durable queue for every message the bot sends on its own.
# Replies still waiting in pending_replies move into it, shown as they were written.
V4 = """
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    idem_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    openid TEXT NOT NULL,
    text TEXT NOT NULL,
    fields TEXT,                         -- JSON object: template message values
    state TEXT NOT NULL CHECK (state IN ('queued', 'pending', 'sent', 'shown', 'dropped')),
    channel TEXT,                        -- customer_service | template | reply
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    reason TEXT,                         -- why it was dropped
    lease_owner TEXT,
    lease_until REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    done_at REAL
);
CREATE INDEX outbox_state ON outbox(state, lease_until);
CREATE INDEX outbox_openid ON outbox(openid, state);
INSERT INTO outbox (idem_key, kind, openid, text, state, created_at, updated_at)
    SELECT 'pending_reply:' || id, 'legacy', openid, content, 'pending', created_at, created_at
    FROM pending_replies;
DROP TABLE pending_replies;
"""

# v5: where a buyer who found nothing is (我在上海, 寄到广州), for delivery and the demand report.
V5 = """
ALTER TABLE unmet_demand ADD COLUMN buyer_city TEXT;
"""

# v6: the order flow. Orders get numbers, amounts, delivery details and five statuses,
# and every change is an order_events row. SQLite cannot alter a CHECK, so the table is
# rebuilt: fulfilled becomes completed, and an old cancellation counts as the seller's
# (what reliability assumed before). Legacy numbers carry an L, which new ones never do.
V6 = """
CREATE TABLE orders_v6 (
    id INTEGER PRIMARY KEY,
    order_no TEXT NOT NULL UNIQUE,       -- 20261201-7K3F9Q
    listing_id INTEGER NOT NULL REFERENCES listings(id),
    seller_id INTEGER NOT NULL REFERENCES sellers(id),
    buyer TEXT NOT NULL,                 -- openid; a pseudonym once the buyer unsubscribed
    buyer_left INTEGER NOT NULL DEFAULT 0,
    title TEXT NOT NULL,                 -- the listing as it was ordered
    unit TEXT NOT NULL,
    price_fen INTEGER NOT NULL CHECK (price_fen >= 0),
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    total_fen INTEGER NOT NULL CHECK (total_fen >= 0),
    name TEXT,                           -- delivery details: erased at close if the buyer left
    phone TEXT,
    address TEXT,
    note TEXT,
    status TEXT NOT NULL
        CHECK (status IN ('placed', 'confirmed', 'shipped', 'completed', 'cancelled')),
    cancelled_by TEXT CHECK (cancelled_by IN ('buyer', 'seller', 'operator', 'system')),
    carrier TEXT,
    tracking_no TEXT,
    form_key TEXT UNIQUE,                -- the order form's idempotency key
    seller_notified_at REAL,             -- NULL: the seller had no openid to tell yet
    created_at REAL NOT NULL,
    status_at REAL NOT NULL              -- when the current status was reached
);
INSERT INTO orders_v6 (id, order_no, listing_id, seller_id, buyer, title, unit, price_fen,
                       quantity, total_fen, status, cancelled_by, seller_notified_at,
                       created_at, status_at)
    SELECT o.id, strftime('%Y%m%d', o.created_at, 'unixepoch', '+8 hours') || '-L' || o.id,
           o.listing_id, o.seller_id, o.buyer, l.title, l.unit, l.price_fen,
           max(1, CAST(round(o.quantity) AS INTEGER)),
           l.price_fen * max(1, CAST(round(o.quantity) AS INTEGER)),
           CASE o.status WHEN 'fulfilled' THEN 'completed' ELSE o.status END,
           CASE o.status WHEN 'cancelled' THEN 'seller' END,
           o.created_at, o.created_at, o.created_at
    FROM orders AS o JOIN listings AS l ON l.id = o.listing_id;
DROP TABLE orders;
ALTER TABLE orders_v6 RENAME TO orders;
CREATE INDEX orders_seller ON orders(seller_id, status, cancelled_by);  -- covers reliability
CREATE INDEX orders_buyer ON orders(buyer, id);
CREATE INDEX orders_due ON orders(status, status_at);
CREATE INDEX orders_code ON orders(substr(order_no, 10));   -- the part read over the phone
CREATE TABLE order_events (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    from_status TEXT,                    -- NULL for the placing itself
    to_status TEXT NOT NULL,
    actor TEXT NOT NULL CHECK (actor IN ('buyer', 'seller', 'operator', 'system')),
    actor_name TEXT,                     -- an operator's name or the job; never an openid
    reason TEXT,
    at REAL NOT NULL
);
CREATE INDEX order_events_order ON order_events(order_id, id);
INSERT INTO order_events (order_id, from_status, to_status, actor, actor_name, reason, at)
    SELECT id, NULL, status, 'system', 'migration', 'recorded before order history', created_at
    FROM orders;
CREATE TRIGGER orders_are_kept BEFORE DELETE ON orders
BEGIN SELECT RAISE(ABORT, 'orders are never deleted'); END;
CREATE TRIGGER order_events_are_kept BEFORE DELETE ON order_events
BEGIN SELECT RAISE(ABORT, 'order history is never deleted'); END;
"""

# v7: sellers who run their shop by chat: profiles, one-time claim codes for imported
# sellers, stable per-seller listing numbers, photos, views and moderation.
V7 = """
ALTER TABLE sellers ADD COLUMN region TEXT NOT NULL DEFAULT '';
ALTER TABLE sellers ADD COLUMN onboarding TEXT NOT NULL DEFAULT 'new';  -- new | done
ALTER TABLE listings ADD COLUMN seller_no INTEGER;      -- the seller's own number (1, 2 ...)
ALTER TABLE listings ADD COLUMN photo TEXT;             -- a file name under media/
ALTER TABLE listings ADD COLUMN views INTEGER NOT NULL DEFAULT 0;
ALTER TABLE listings ADD COLUMN source TEXT NOT NULL DEFAULT 'import';  -- import | chat
ALTER TABLE listings ADD COLUMN review TEXT;            -- NULL, pending, approved, rejected
ALTER TABLE listings ADD COLUMN review_note TEXT;       -- why it was rejected
CREATE UNIQUE INDEX listings_seller_no ON listings(seller_id, seller_no);
CREATE INDEX listings_review ON listings(review, status);
CREATE TABLE claim_codes (
    code TEXT PRIMARY KEY,
    seller_id INTEGER NOT NULL UNIQUE REFERENCES sellers(id),
    created_at REAL NOT NULL,
    claimed_at REAL
);
CREATE TABLE claim_failures (
    openid TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX claim_failures_openid ON claim_failures(openid, at);
CREATE TABLE media (
    name TEXT PRIMARY KEY,                -- sha256 of the bytes plus the extension
    content_type TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    created_at REAL NOT NULL
);
"""

# v8: the operator console. What the bot understood and which offers it showed, a
# jieba-segmented full-text index of the log (the trigram tokenizer cannot match
# two-character words), daily counts for the dashboard, operators with their
# sessions and failed logins, and the audit trail of operator actions.
V8 = """
ALTER TABLE message_log ADD COLUMN understood TEXT;   -- JSON: intent, slots, flags, words
ALTER TABLE message_log ADD COLUMN offers TEXT;       -- JSON list of listing ids shown
CREATE INDEX message_log_user ON message_log(openid);         -- (openid, id): transcripts
CREATE INDEX message_log_intent ON message_log(intent);
CREATE INDEX message_log_outcome ON message_log(outcome);
CREATE INDEX message_log_intent_outcome ON message_log(intent, outcome);
-- Search-mode terms of each message and reply, space-joined; rowid = message_log.id.
-- `who` is one token per user (the hash their pseudonym shows), so a user's words are
-- found by intersecting two doclists. The table keeps its terms (not contentless) so a
-- row rewritten by erasure can be re-indexed exactly: nothing erased stays findable.
CREATE VIRTUAL TABLE message_log_fts USING fts5(text, reply, who);
-- Rows logged before this id are indexed by messages.backfill_index at start-up.
INSERT INTO meta (key, value)
    SELECT 'log_fts_backfill_below', coalesce(max(id), 0) + 1 FROM message_log;
CREATE TABLE log_daily (
    day TEXT NOT NULL,                   -- local date, YYYY-MM-DD
    intent TEXT NOT NULL,                -- '' when none
    outcome TEXT NOT NULL,
    product TEXT NOT NULL,               -- understood product or category; '' when none
    matched INTEGER NOT NULL,            -- 1 when offers were shown
    n INTEGER NOT NULL,
    PRIMARY KEY (day, intent, outcome, product, matched)
) WITHOUT ROWID;
CREATE INDEX log_daily_intent ON log_daily(intent);
-- Earlier rows: offers were shown when the reply carried an ordering link.
INSERT INTO log_daily (day, intent, outcome, product, matched, n)
    SELECT date(at, 'unixepoch', 'localtime'), coalesce(intent, ''), outcome, '',
           coalesce(reply, '') LIKE '%<a href=%', count(*)
    FROM message_log GROUP BY 1, 2, 3, 4, 5;
CREATE TABLE operators (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    password_hash TEXT NOT NULL,         -- scrypt$n$r$p$salt$hash
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE operator_sessions (
    token_hash TEXT PRIMARY KEY,         -- sha256 of the cookie; the cookie itself is not kept
    operator_id INTEGER NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    client TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    seen_at REAL NOT NULL
);
CREATE INDEX operator_sessions_operator ON operator_sessions(operator_id);
CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,                   -- 'ip:ADDRESS' or 'user:NAME'
    at REAL NOT NULL
);
CREATE INDEX login_failures_key ON login_failures(key, at);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    operator TEXT NOT NULL,              -- the operator's name when they acted
    action TEXT NOT NULL,                -- reveal, listing.edit, listing.delist, operator.add ...
    target_kind TEXT NOT NULL,           -- seller, message, listing, operator
    target_id TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}',   -- JSON, e.g. {"price_fen": [880, 800]}
    client TEXT NOT NULL DEFAULT ''      -- the operator's address
);
CREATE INDEX audit_log_target ON audit_log(target_kind, target_id);
-- Covers the console's window queries: grouping reads no table rows.
CREATE INDEX unmet_demand_window
    ON unmet_demand(created_at, product, origin, buyer_city, price_max_fen, openid, text);
-- Earlier rows kept the whole label (云南产的土鸡蛋) as the origin: keep the place.
UPDATE unmet_demand SET origin = substr(origin, 1, instr(origin, '产的') - 1)
    WHERE instr(origin, '产的') > 1;
"""

# v9: the console's order pages. Orders are listed newest first by when they were
# placed, all or by status, in keyset pages of (created_at, id) that never sort; the
# dashboard sums each day's orders from the first index alone (it covers status and
# total; id is named so the index keeps (created_at, id) order for the pages).
V9 = """
CREATE INDEX orders_created ON orders(created_at, id, status, total_fen);
CREATE INDEX orders_status_created ON orders(status, created_at);
"""

# v10: per-user rate limits. A row per user holds the current window's count, so every
# worker process sees the same count; the log gains the outcome rate_limited (SQLite
# cannot change a CHECK in place: the table is rebuilt with its ids and indexes).
V10 = """
CREATE TABLE rate_limits (
    openid TEXT PRIMARY KEY,
    window_start REAL NOT NULL,
    n INTEGER NOT NULL
);
CREATE TABLE message_log_v10 (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    openid TEXT,
    msg_type TEXT NOT NULL,
    text TEXT,
    intent TEXT,
    reply TEXT,
    latency_ms INTEGER,
    outcome TEXT NOT NULL CHECK (outcome IN ('answered', 'no_match', 'error', 'deadline',
                                             'rejected', 'rate_limited')),
    understood TEXT,
    offers TEXT
);
INSERT INTO message_log_v10 (id, at, openid, msg_type, text, intent, reply, latency_ms, outcome,
                             understood, offers)
    SELECT id, at, openid, msg_type, text, intent, reply, latency_ms, outcome, understood, offers
    FROM message_log;
DROP TABLE message_log;
ALTER TABLE message_log_v10 RENAME TO message_log;
CREATE INDEX message_log_at ON message_log(at);
CREATE INDEX message_log_openid ON message_log(openid, at);
CREATE INDEX message_log_user ON message_log(openid);
CREATE INDEX message_log_intent ON message_log(intent);
CREATE INDEX message_log_outcome ON message_log(outcome);
CREATE INDEX message_log_intent_outcome ON message_log(intent, outcome);
"""

# v11: a counter that every change to what search can return bumps, in the change's own
# transaction; each process caches ranked inputs under it and sees a change at its next
# message. Views are counted on every search and change nothing search returns.
V11 = """
CREATE TABLE catalogue_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
);
INSERT INTO catalogue_version (id, n) VALUES (1, 0);
CREATE TRIGGER listings_insert_bumps AFTER INSERT ON listings
BEGIN UPDATE catalogue_version SET n = n + 1; END;
CREATE TRIGGER listings_delete_bumps AFTER DELETE ON listings
BEGIN UPDATE catalogue_version SET n = n + 1; END;
CREATE TRIGGER listings_update_bumps AFTER UPDATE OF
    sku, seller_id, title, category, price_fen, unit, stock, origin, description, tags, status, created_at, updated_at, product, weight_factor, index_version, seller_no, photo, source, review, review_note
    ON listings
BEGIN UPDATE catalogue_version SET n = n + 1; END;
CREATE TRIGGER sellers_insert_bumps AFTER INSERT ON sellers
BEGIN UPDATE catalogue_version SET n = n + 1; END;
CREATE TRIGGER sellers_update_bumps AFTER UPDATE ON sellers
BEGIN UPDATE catalogue_version SET n = n + 1; END;
CREATE TRIGGER sellers_delete_bumps AFTER DELETE ON sellers
BEGIN UPDATE catalogue_version SET n = n + 1; END;
"""

# v12: erasures. The log is written in batches after each reply (bot.logbook), so a
# user's last lines may reach the table after their erasure ran; the erasure's pseudonym
# and time stay here a while, and a line answered before that time is written under the
# pseudonym. Only the salted pseudonym is kept, never the openid.
V12 = """
CREATE TABLE erasures (
    alias TEXT PRIMARY KEY,
    at REAL NOT NULL
);
"""

# v13: a counter that every change to what seller reliability reads (an order placed,
# its status or who cancelled it) bumps, as catalogue_version does for search: each
# process keeps sellers' reliability under it instead of summing orders per message.
V13 = """
CREATE TABLE orders_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
);
INSERT INTO orders_version (id, n) VALUES (1, 0);
CREATE TRIGGER orders_insert_bumps AFTER INSERT ON orders
BEGIN UPDATE orders_version SET n = n + 1; END;
CREATE TRIGGER orders_update_bumps AFTER UPDATE OF seller_id, status, cancelled_by ON orders
BEGIN UPDATE orders_version SET n = n + 1; END;
CREATE TRIGGER orders_delete_bumps AFTER DELETE ON orders
BEGIN UPDATE orders_version SET n = n + 1; END;
"""

# v14: view counts in a narrow table of their own. Counting a batch's views on the wide
# listings rows rewrote a page of titles and descriptions per listing shown, and the
# checkpoint copied each back; here a few hundred counts share a page.
V14 = """
CREATE TABLE listing_views (
    listing_id INTEGER PRIMARY KEY,
    n INTEGER NOT NULL
);
INSERT INTO listing_views (listing_id, n) SELECT id, views FROM listings WHERE views > 0;
ALTER TABLE listings DROP COLUMN views;
"""

MIGRATIONS: tuple[str, ...] = (V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12, V13, V14)
CURRENT_VERSION = len(MIGRATIONS)


def version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection, target: int = CURRENT_VERSION) -> int:
    """Apply each missing migration in its own transaction; return the new version."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = version(conn)
        for number in range(current + 1, target + 1):
            for statement in _statements(MIGRATIONS[number - 1]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return version(conn)


def _statements(script: str) -> list[str]:
    """Split a migration into statements; executescript would commit implicitly."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return [s for s in statements if s]
