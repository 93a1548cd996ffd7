"""What a handler gets: the message, its understanding, the session and services."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from db import Database
from handlers.ranking import Weights
from handlers.types import Inbound
from nlp import Understanding


@dataclass(frozen=True)
class Services:
    db: Database
    public_url: str
    link_secret: str
    ranking: Weights = Weights()
    # Tells the outbox sender that a notice was queued; it also polls, so this only saves time.
    wake_outbox: Callable[[], None] = lambda: None


@dataclass
class Turn:
    inbound: Inbound
    understanding: Understanding
    services: Services
    session: dict[str, Any] = field(default_factory=dict)
    now: float = 0.0
