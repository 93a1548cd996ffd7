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

# v4: the operator console. What the bot understood and which offers it showed, a
# jieba-segmented full-text index of the log (the trigram tokenizer cannot match
# two-character words), daily counts for the dashboard, operators with their
# sessions and failed logins, and the audit trail of operator actions.
V4 = """
ALTER TABLE message_log ADD COLUMN understood TEXT;   -- JSON: intent, slots, flags, words
ALTER TABLE message_log ADD COLUMN offers TEXT;       -- JSON list of listing ids shown
CREATE INDEX message_log_user ON message_log(openid);         -- (openid, id): transcripts
CREATE INDEX message_log_intent ON message_log(intent);
CREATE INDEX message_log_outcome ON message_log(outcome);
CREATE INDEX message_log_intent_outcome ON message_log(intent, outcome);
-- Search-mode terms of each message and reply, space-joined; rowid = message_log.id.
-- `who` is one token per user (the hash their pseudonym shows), so a user's words are
-- found by intersecting two doclists. Contentless: the text stays in message_log.
CREATE VIRTUAL TABLE message_log_fts USING fts5(text, reply, who, content='');
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
    ON unmet_demand(created_at, product, origin, price_max_fen, openid, text);
-- Earlier rows kept the whole label (云南产的土鸡蛋) as the origin: keep the place.
UPDATE unmet_demand SET origin = substr(origin, 1, instr(origin, '产的') - 1)
    WHERE instr(origin, '产的') > 1;
"""

MIGRATIONS: tuple[str, ...] = (V1, V2, V3, V4)
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
