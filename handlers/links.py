"""Signed ordering links: /o/{token} names a listing, a buyer and the issue time."""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

MAX_AGE_SECONDS = 30 * 24 * 3600
_SIG_BYTES = 16


class InvalidLink(Exception):
    """A link that was tampered with, malformed or too old; the message is for users."""


@dataclass(frozen=True)
class LinkClaims:
    listing_id: int
    openid: str
    issued_at: int


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str) -> bytes:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()[:_SIG_BYTES]


def sign(secret: str, listing_id: int, openid: str, issued_at: int) -> str:
    payload = _b64(f"{listing_id}|{openid}|{issued_at}".encode())
    return f"{payload}.{_b64(_mac(secret, payload))}"


def verify(secret: str, token: str, now: float, max_age: int = MAX_AGE_SECONDS) -> LinkClaims:
    payload, _, signature = token.partition(".")
    try:
        valid = hmac.compare_digest(_unb64(signature), _mac(secret, payload))
        listing, openid, issued = _unb64(payload).decode().split("|")
        claims = LinkClaims(int(listing), openid, int(issued))
    except (ValueError, UnicodeDecodeError):
        raise InvalidLink("链接无效，请回到公众号重新获取") from None
    if not valid:
        raise InvalidLink("链接无效，请回到公众号重新获取")
    if now - claims.issued_at > max_age:
        raise InvalidLink("链接已过期，请回到公众号重新搜索")
    return claims
