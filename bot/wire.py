"""The platform's side of the protocol: build, sign and seal messages as WeChat
sends them, and open the replies. Used by `chat`, the benchmark and the tests.
"""
from __future__ import annotations

import secrets
import time
from typing import Any
from xml.sax.saxutils import escape

import xmltodict
from wechatpy.crypto import WeChatCrypto, _get_signature

from bot.config import Config

ACCOUNT = "gh_nonghuotong"


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def message_xml(openid: str, msg_type: str, fields: dict[str, Any],
                created_at: int | None = None, account: str = ACCOUNT) -> str:
    """A message or event in WeChat's XML form; string fields go in CDATA."""
    nodes = [
        f"<ToUserName>{_cdata(account)}</ToUserName>",
        f"<FromUserName>{_cdata(openid)}</FromUserName>",
        f"<CreateTime>{created_at or int(time.time())}</CreateTime>",
        f"<MsgType>{_cdata(msg_type)}</MsgType>",
    ]
    for name, value in fields.items():
        body = _cdata(value) if isinstance(value, str) else escape(str(value))
        nodes.append(f"<{name}>{body}</{name}>")
    return "<xml>" + "".join(nodes) + "</xml>"


def new_msg_id() -> int:
    return secrets.randbelow(2**62) + 2**40


def text_xml(openid: str, content: str, msg_id: int | None = None, **kw: Any) -> str:
    return message_xml(openid, "text", {"Content": content, "MsgId": msg_id or new_msg_id()}, **kw)


def voice_xml(openid: str, recognition: str, msg_id: int | None = None, **kw: Any) -> str:
    fields = {"MediaId": "media_" + secrets.token_hex(8), "Format": "amr",
              "Recognition": recognition, "MsgId": msg_id or new_msg_id()}
    return message_xml(openid, "voice", fields, **kw)


def event_xml(openid: str, event: str, key: str | None = None, **kw: Any) -> str:
    fields: dict[str, Any] = {"Event": event}
    if key is not None:
        fields["EventKey"] = key
    return message_xml(openid, "event", fields, **kw)


def seal(config: Config, xml: str, openid: str = "",
         timestamp: str | None = None, nonce: str | None = None) -> tuple[dict[str, str], bytes]:
    """Query string and body as the platform posts them: safe mode when a key is set."""
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or str(secrets.randbelow(10**9))
    token = config.wechat.token
    query = {"signature": _get_signature(token, timestamp, nonce, ""), "timestamp": timestamp,
             "nonce": nonce, "openid": openid}
    if not config.safe_mode:
        return query, xml.encode("utf-8")
    crypto = WeChatCrypto(token, config.wechat.encoding_aes_key, config.wechat.app_id)
    sealed = xmltodict.parse(crypto.encrypt_message(xml, nonce, timestamp))["xml"]
    query.update(encrypt_type="aes", msg_signature=sealed["MsgSignature"])
    body = (f"<xml><ToUserName>{_cdata(ACCOUNT)}</ToUserName>"
            f"<Encrypt>{_cdata(sealed['Encrypt'])}</Encrypt></xml>")
    return query, body.encode("utf-8")


def plain_signature(token: str, timestamp: str, nonce: str) -> str:
    """The plain-mode signature over token, timestamp and nonce."""
    return _get_signature(token, timestamp, nonce, "")


def open_reply(config: Config, body: str) -> dict[str, Any]:
    """The reply's fields ({} for `success`), decrypting in safe mode."""
    if not body or body == "success":
        return {}
    fields = xmltodict.parse(body)["xml"]
    if "Encrypt" in fields:
        crypto = WeChatCrypto(config.wechat.token, config.wechat.encoding_aes_key,
                              config.wechat.app_id)
        plain = crypto.decrypt_message(fields, fields["MsgSignature"], fields["TimeStamp"],
                                       fields["Nonce"])
        fields = xmltodict.parse(plain)["xml"]
    return dict(fields)
