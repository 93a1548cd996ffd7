"""The types that cross the bot/handlers boundary: no XML, no signatures."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The platform truncates or drops text replies past about 2,047 bytes.
MAX_REPLY_BYTES = 2000


@dataclass(frozen=True)
class Inbound:
    """One message or event from a user, already verified and decrypted."""

    openid: str
    kind: str  # text | voice | location | image | event
    created_at: int
    account: str = ""
    msg_id: str = ""
    text: str = ""
    event: str = ""  # subscribe | unsubscribe | click | location | scan
    event_key: str = ""
    latitude: float | None = None
    longitude: float | None = None
    media_id: str = ""  # image messages: fetch within 3 days through the media API

    @property
    def dedupe_key(self) -> str:
        """Messages by (user, MsgId); events by (user, CreateTime, Event, EventKey)."""
        if self.kind == "event":
            return f"e:{self.openid}:{self.created_at}:{self.event}:{self.event_key}"
        return f"m:{self.openid}:{self.msg_id}"

    @property
    def is_trigger_event(self) -> bool:
        """Menu clicks, subscribes and scans get a tighter customer-service quota."""
        return self.kind == "event" and self.event in ("click", "subscribe", "scan")


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


@dataclass
class Reply:
    """A text reply whose middle items may be dropped, whole, to fit the byte limit."""

    head: str
    items: list[str] = field(default_factory=list)
    tail: str = ""
    intent: str = "other"
    outcome: str = "answered"
    erase_user: bool = False  # set by unsubscribe: the log keeps only a pseudonym
    offers: tuple[int, ...] = ()  # listing ids shown, in order, for the log
    views: tuple[int, ...] = ()  # listings whose view count goes up with the reply's commit
    understood: Any = None  # the Understanding acted on; the pipeline sets it for the log

    def render(self, budget: int = MAX_REPLY_BYTES) -> str:
        """Head and tail always; items in order, whole, while everything fits."""
        kept: list[str] = []
        for item in self.items:
            if utf8_len(self._join([self.head, *kept, item, self.tail])) > budget:
                break
            kept.append(item)
        return self._join([self.head, *kept, self.tail])

    @staticmethod
    def _join(parts: list[str]) -> str:
        return "\n\n".join(part for part in parts if part)


@dataclass(frozen=True)
class Photo:
    """A photo fetched from WeChat and stored on our side, served at /media/{name}."""
    name: str
    content_type: str
    size: int


class PhotoError(Exception):
    """Why a photo could not be kept: unavailable (no API), too_large, not_image,
    expired (the MediaId is gone), failed (network or API)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
