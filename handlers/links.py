"""Signed links for browser pages, and the order form's signed hidden field.

/order/{token} is a buyer's own view of an order (sign_order). /o/{token} names a
listing, a buyer, the issue time and optionally a quantity
(要第2个 三斤 prefills the form). A token that does not verify is refused (403); one
older than [orders] link_days has expired (410). Tokens of the first version carry no
quantity and still verify.

The order form's hidden field is a random nonce with a MAC over (this token, nonce):
it proves the form came from our page for this link (CSRF protection with no
cookie, which WeChat's in-app browser does not keep reliably) and, being unique per
page view, it is the idempotency key of the order the form creates.
"""
from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache

MAX_AGE_SECONDS = 7 * 24 * 3600
_SIG_BYTES = 16
_NONCE_BYTES = 16


class InvalidLink(Exception):
    """A link that was tampered with or is malformed; the message is for users."""
    status = 403


class ExpiredLink(InvalidLink):
    """A genuine link past its lifetime."""
    status = 410


@dataclass(frozen=True)
class LinkClaims:
    listing_id: int
    openid: str
    issued_at: int
    quantity: int | None = None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@lru_cache(maxsize=8)
def _keyed(secret: str) -> hmac.HMAC:
    return hmac.new(secret.encode(), digestmod="sha256")


def _mac(secret: str, payload: str) -> bytes:
    # hmac.digest() releases the GIL around its one-shot HMAC, so each of a reply's
    # links let a database thread take the interpreter for up to a switch interval;
    # updating a copy of the keyed state (under 2 KiB) keeps it.
    mac = _keyed(secret).copy()
    mac.update(payload.encode())
    return mac.digest()[:_SIG_BYTES]


def sign(secret: str, listing_id: int, openid: str, issued_at: int,
         quantity: int | None = None) -> str:
    fields = [str(listing_id), openid, str(issued_at)]
    if quantity is not None:
        fields.append(str(quantity))
    payload = _b64("|".join(fields).encode())
    return f"{payload}.{_b64(_mac(secret, payload))}"


def verify(secret: str, token: str, now: float, max_age: int = MAX_AGE_SECONDS) -> LinkClaims:
    payload, _, signature = token.partition(".")
    try:
        valid = hmac.compare_digest(_unb64(signature), _mac(secret, payload))
    except ValueError:
        valid = False
    if not valid:
        raise InvalidLink("链接无效，请回到公众号重新获取")
    try:
        listing, openid, issued, *rest = _unb64(payload).decode().split("|")
        quantity = int(rest[0]) if rest else None
        claims = LinkClaims(int(listing), openid, int(issued), quantity)
    except (ValueError, UnicodeDecodeError):
        raise InvalidLink("链接无效，请回到公众号重新获取") from None
    if now - claims.issued_at > max_age:
        raise ExpiredLink("链接已过期，请回到公众号重新获取")
    return claims


def sign_order(secret: str, order_no: str, openid: str) -> str:
    """/order/{token}: the buyer's own view of one order, for as long as they are the buyer
    (after an unsubscribe the order's buyer is a pseudonym, and the link finds nothing)."""
    payload = _b64(f"{order_no}|{openid}".encode())
    return f"{payload}.{_b64(_mac(secret, f'order:{payload}'))}"


def verify_order(secret: str, token: str) -> tuple[str, str]:
    """(order number, openid) of an order link, or InvalidLink."""
    payload, _, signature = token.partition(".")
    try:
        valid = hmac.compare_digest(_unb64(signature), _mac(secret, f"order:{payload}"))
        order_no, openid = _unb64(payload).decode().split("|") if valid else ("", "")
    except (ValueError, UnicodeDecodeError):
        valid = False
    if not valid:
        raise InvalidLink("链接无效，请在公众号回复「我的订单」查看")
    return order_no, openid


def form_field(secret: str, token: str, nonce: str | None = None) -> str:
    """A fresh hidden-field value for one view of the order form of this link."""
    nonce = nonce or _b64(secrets.token_bytes(_NONCE_BYTES))
    return f"{nonce}.{_b64(_mac(secret, f'form:{token}:{nonce}'))}"


def check_form_field(secret: str, token: str, value: str) -> str:
    """The form's nonce (its idempotency key), if the field was made for this token."""
    nonce, _, signature = value.partition(".")
    try:
        valid = bool(nonce) and hmac.compare_digest(
            _unb64(signature), _mac(secret, f"form:{token}:{nonce}"))
    except ValueError:
        valid = False
    if not valid:
        raise InvalidLink("页面已失效，请重新打开下单链接")
    return nonce
