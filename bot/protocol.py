"""The WeChat message protocol: signatures, safe-mode crypto, parsing and reply XML.

Everything here is synchronous and pure apart from the clock; the server maps
`Rejected` to an HTTP status and never lets a library exception escape.
"""
from __future__ import annotations

import re
import struct
import time
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat
from xml.parsers.expat import ExpatError

from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto, _get_signature
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import BaseMessage, UnknownMessage
from wechatpy.utils import check_signature

from bot.config import Config
from handlers.types import Inbound

MAX_BODY_BYTES = 64 * 1024
# XML 1.0 forbids these code points even inside CDATA.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# Exceptions wechatpy and its helpers raise for bad ciphertext or bad XML.
_BAD_INPUT = (
    ExpatError, ValueError, KeyError, TypeError, IndexError, AttributeError,
    UnicodeDecodeError, struct.error, InvalidAppIdException,
)
REQUIRED_FIELDS = ("ToUserName", "FromUserName", "CreateTime", "MsgType")


class Rejected(Exception):
    """A request we refuse; `status` is the HTTP answer, `reason` goes to the log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Envelope:
    """The decoded request plus what is needed to answer it in the same mode."""

    xml: str
    crypto: WeChatCrypto | None  # set when the reply must be encrypted

    def wrap(self, plain_reply: str, nonce: str, timestamp: str | None = None) -> str:
        if not plain_reply or self.crypto is None:
            return plain_reply or "success"
        return self.crypto.encrypt_message(plain_reply, nonce, timestamp or str(int(time.time())))


def _cryptos(config: Config) -> list[WeChatCrypto]:
    keys = [config.wechat.encoding_aes_key, config.wechat.previous_encoding_aes_key]
    return [WeChatCrypto(config.wechat.token, key, config.wechat.app_id) for key in keys if key]


def verify_get(config: Config, query: dict[str, str]) -> str:
    """The URL verification handshake: answer the echostr when the signature holds."""
    _check_plain_signature(config, query)
    return query.get("echostr", "")


def _check_plain_signature(config: Config, query: dict[str, str]) -> None:
    try:
        check_signature(config.wechat.token, query.get("signature", ""),
                        query.get("timestamp", ""), query.get("nonce", ""))
    except InvalidSignatureException:
        raise Rejected(403, "invalid signature") from None


def _refuse_declarations(text: str) -> None:
    if _DECLARATION.search(text):
        raise Rejected(400, "DOCTYPE or ENTITY declaration")


def _envelope_fields(text: str) -> set[str]:
    """The names of the <xml> root's children, once expat has read the whole text
    (no dictionary is built: the envelope's one field of interest is already out)."""
    _refuse_declarations(text)
    depth, roots, children = 0, [], set()

    def start(name: str, _attributes: Any) -> None:
        nonlocal depth
        if depth == 0:
            roots.append(name)
        elif depth == 1:
            children.add(name)
        depth += 1

    def end(_name: str) -> None:
        nonlocal depth
        depth -= 1

    parser = expat.ParserCreate()
    parser.StartElementHandler, parser.EndElementHandler = start, end
    try:
        parser.Parse(text, True)
    except ExpatError as exc:
        raise Rejected(400, f"malformed XML: {type(exc).__name__}") from None
    if roots != ["xml"]:
        raise Rejected(400, "missing <xml> root")
    return children


def open_post(config: Config, query: dict[str, str], body: bytes) -> Envelope:
    """Verify and decrypt a POST body; raises Rejected(403 or 400)."""
    if query.get("encrypt_type", "raw").lower() != "aes":
        _check_plain_signature(config, query)
        return Envelope(_decode(body), None)
    if not config.safe_mode:
        # Compatible mode without a configured key: the plain fields are there too.
        _check_plain_signature(config, query)
        return Envelope(_decode(body), None)
    return _open_encrypted(config, query, body)


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "body is not UTF-8") from None


_ENCRYPT_FIELD = re.compile(
    r"<Encrypt>\s*(?:<!\[CDATA\[([A-Za-z0-9+/=\s]*)\]\]>|([A-Za-z0-9+/=\s]*))\s*</Encrypt>")


def _open_encrypted(config: Config, query: dict[str, str], body: bytes) -> Envelope:
    """Check msg_signature over the Encrypt field before parsing anything else."""
    msg_signature = query.get("msg_signature", "")
    if not msg_signature:
        raise Rejected(403, "missing msg_signature")
    text = _decode(body)
    found = _ENCRYPT_FIELD.search(text)
    if not found:
        raise Rejected(400, "missing Encrypt field")
    encrypt = "".join((found.group(1) or found.group(2) or "").split())
    if _get_signature(config.wechat.token, query.get("timestamp", ""), query.get("nonce", ""),
                      encrypt) != msg_signature:
        raise Rejected(403, "invalid msg_signature")
    if "Encrypt" not in _envelope_fields(text):
        raise Rejected(400, "missing Encrypt field")
    return _decrypt(config, query, encrypt, msg_signature)


def _decrypt(config: Config, query: dict[str, str], encrypt: str, msg_signature: str) -> Envelope:
    """The current key first, then the previous one: the platform rotates keys."""
    last_error = "cannot decrypt"
    for crypto in _cryptos(config):
        try:
            plain = crypto.decrypt_message({"Encrypt": encrypt}, msg_signature,
                                           query.get("timestamp", ""), query.get("nonce", ""))
        except _BAD_INPUT as exc:
            last_error = f"cannot decrypt: {type(exc).__name__}"
            continue
        return Envelope(plain, crypto)
    raise Rejected(400, last_error)


def parse(xml: str) -> BaseMessage:
    """Parse decrypted XML into a wechatpy message, or Rejected(400). One parse: the
    fields are checked on what wechatpy read."""
    _refuse_declarations(xml)
    if not xml.strip():
        raise Rejected(400, "empty message")
    try:
        message = parse_message(xml)
    except ExpatError as exc:
        raise Rejected(400, f"malformed XML: {type(exc).__name__}") from None
    except KeyError:  # no <xml> root, or no MsgType in it
        raise Rejected(400, "missing <xml> root or MsgType") from None
    except _BAD_INPUT as exc:
        raise Rejected(400, f"unparseable message: {type(exc).__name__}") from None
    fields = message._data  # the dict wechatpy parsed; it keeps no other public copy
    missing = [name for name in REQUIRED_FIELDS if not isinstance(fields.get(name), str)]
    if missing:
        raise Rejected(400, f"missing fields: {', '.join(missing)}")
    try:
        int(fields["CreateTime"])
    except ValueError:
        raise Rejected(400, "unparseable message: CreateTime") from None
    if message.type != "event" and not isinstance(message, UnknownMessage) and not fields.get("MsgId"):
        raise Rejected(400, "missing fields: MsgId")
    return message


def to_inbound(message: BaseMessage) -> Inbound | None:
    """Translate a wechatpy message into our own type; None for kinds we ignore."""
    base = {"openid": message.source, "account": message.target, "created_at": int(message.time)}
    kind = message.type
    if kind == "text":
        return Inbound(kind="text", text=message.content or "", msg_id=str(message.id), **base)
    if kind == "voice":
        return Inbound(kind="voice", text=(message.recognition or "").strip(),
                       msg_id=str(message.id), **base)
    if kind == "location":
        return Inbound(kind="location", msg_id=str(message.id), text=message.label or "",
                       latitude=_float(message.location_x), longitude=_float(message.location_y),
                       **base)
    if kind == "image":
        return Inbound(kind="image", msg_id=str(message.id),
                       media_id=str(getattr(message, "media_id", "") or ""), **base)
    if kind == "event":
        return _event_inbound(message, base)
    return None


def _event_inbound(message: BaseMessage, base: dict[str, Any]) -> Inbound | None:
    event = message.event
    if event in ("subscribe", "subscribe_scan"):
        key = getattr(message, "scene_id", None) or getattr(message, "key", "") or ""
        return Inbound(kind="event", event="subscribe", event_key=key, **base)
    if event == "unsubscribe":
        return Inbound(kind="event", event="unsubscribe", **base)
    if event == "click":
        return Inbound(kind="event", event="click", event_key=(message.key or "").strip(), **base)
    if event == "location":
        return Inbound(kind="event", event="location", latitude=_float(message.latitude),
                       longitude=_float(message.longitude), **base)
    if event == "scan":
        return Inbound(kind="event", event="scan", event_key=message.scene_id or "", **base)
    return None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def clean_text(content: str) -> str:
    """Make any text safe inside a CDATA section of well-formed XML 1.0."""
    content = _XML_FORBIDDEN.sub("", content)
    return content.replace("]]>", "]]]]><![CDATA[>")


def text_reply(message: BaseMessage, content: str) -> str:
    """Render a passive text reply; '' when there is nothing to say."""
    if not content:
        return ""
    return create_reply(clean_text(content), message, render=True)
