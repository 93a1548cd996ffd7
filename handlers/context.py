"""What a handler gets: the message, its understanding, the session and services."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from db import Database
from db.listings import Versions
from handlers.ranking import Weights
from handlers.types import Inbound, Photo
from nlp import Understanding


class PhotoStore(Protocol):
    """Fetches an image message's bytes through the media API and keeps them (bot/media.py).
    Raises handlers.types.PhotoError; the handler layer itself never does HTTP."""

    async def fetch(self, media_id: str) -> Photo: ...


@dataclass(frozen=True)
class OrderSettings:
    """The [orders] section of bot.toml: bot/config.py loads it as this very class."""
    link_days: int = 7        # an ordering link works this long after it was sent
    confirm_hours: int = 48   # a placed order the seller has not confirmed is then cancelled
    complete_days: int = 10   # a shipped order the buyer has not confirmed is then completed


@dataclass(frozen=True)
class Services:
    db: Database
    public_url: str
    link_secret: str
    ranking: Weights = Weights()
    orders: OrderSettings = OrderSettings()
    # Tells the outbox sender that a notice was queued; it also polls, so this only saves time.
    wake_outbox: Callable[[], None] = lambda: None
    require_review: bool = False  # [listings] require_review
    banned_words: frozenset[str] = frozenset()  # [listings] banned_words_file
    photos: PhotoStore | None = None  # None: no API configured, photos cannot be fetched


@dataclass
class Turn:
    inbound: Inbound
    understanding: Understanding
    services: Services
    session: dict[str, Any] = field(default_factory=dict)
    now: float = 0.0
    # Lines that lead the reply, whichever handler answers (a form that expired).
    notes: list[str] = field(default_factory=list)
    # The catalogue's and orders' counters as the message was claimed: cached search
    # results under them need no trip to the database (None: always ask it).
    versions: Versions | None = None
