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

# v5: sellers who run their shop by chat: profiles, one-time claim codes for imported
# sellers, stable per-seller listing numbers, photos, views and moderation.
V5 = """
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

MIGRATIONS: tuple[str, ...] = (V1, V2, V3, V4, V5)
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
