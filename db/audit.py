"""The audit trail: who did what to which record, when, why and from where.

Operator actions (revealing a phone, editing or delisting a listing, and later
moderation and order changes) are recorded in the same transaction as the change.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Entry:
    id: int
    at: float
    operator: str
    action: str
    target_kind: str
    target_id: str
    reason: str
    detail: dict[str, Any]
    client: str


def record(conn: sqlite3.Connection, operator: str, action: str, target_kind: str,
           target_id: object, reason: str = "", detail: dict[str, Any] | None = None,
           client: str = "", now: float | None = None) -> int:
    return conn.execute(
        "INSERT INTO audit_log (at, operator, action, target_kind, target_id, reason, detail,"
        " client) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (time.time() if now is None else now, operator, action, target_kind, str(target_id),
         reason, json.dumps(detail or {}, ensure_ascii=False, default=str), client),
    ).fetchone()[0]


def recent(conn: sqlite3.Connection, before: int | None = None, limit: int = 100,
           target_kind: str | None = None, target_id: object = None) -> list[Entry]:
    """Newest first; optionally only the entries about one record."""
    clauses, params = ["(:before IS NULL OR id < :before)"], {"before": before, "limit": limit}
    if target_kind is not None:
        clauses.append("target_kind = :kind AND target_id = :target")
        params.update(kind=target_kind, target=str(target_id))
    rows = conn.execute(
        "SELECT id, at, operator, action, target_kind, target_id, reason, detail, client"
        f" FROM audit_log WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT :limit", params)
    return [Entry(**{**dict(row), "detail": json.loads(row["detail"])}) for row in rows]
