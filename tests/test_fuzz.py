"""Fuzzing with hypothesis (derandomized, with a deadline): hostile and broken input
never gets a 500, a hang or a traceback, and never half-writes anything.

The server runs for real on loopback in a thread of its own; hypothesis drives it
over HTTP like any client would.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from wechatpy.crypto import WeChatCrypto, _get_signature

from bot import wire
from bot.config import Config
from bot.server import create_app
from bot.state import STATE
from db import Database
from db.catalogue import CatalogueError, read
from handlers import links
from tests.conftest import make_config, seed

FUZZ = settings(derandomize=True, deadline=3000, max_examples=120, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
ALLOWED = {200, 400, 403, 404, 409, 410, 413}


@dataclass
class Running:
    config: Config
    base: str
    app: web.Application
    loop: asyncio.AbstractEventLoop

    def post(self, path: str, query: dict[str, str], body: bytes,
             content_type: str = "application/xml") -> tuple[int, str]:
        url = f"{self.base}{path}?{urllib.parse.urlencode(query)}"
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """After the server's log book has written what it holds (the log is batched)."""
        flushed = self.app[STATE].pipeline.logbook.flush()
        asyncio.run_coroutine_threadsafe(flushed, self.loop).result(30)
        db = Database(self.config.db.path)
        try:
            return [tuple(r) for r in db.call(lambda c: c.execute(sql).fetchall())]
        finally:
            db.close()


def _serve(config: Config) -> Iterator[Running]:
    """The real app in a thread with its own loop, so sync hypothesis tests can call it."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    app = create_app(config)

    async def start() -> None:
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        holder["runner"], holder["port"] = runner, runner.addresses[0][1]
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()),
                                              loop.run_forever()), daemon=True)
    thread.start()
    assert started.wait(30)
    try:
        yield Running(config, f"http://127.0.0.1:{holder['port']}", app, loop)
    finally:
        asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    config = make_config(tmp_path_factory.mktemp("plain"), safe=False)
    seed(config)
    yield from _serve(config)


@pytest.fixture(scope="module")
def safe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    config = make_config(tmp_path_factory.mktemp("safe"))
    seed(config)
    yield from _serve(config)


def _plain_query(config: Config) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), "12345"
    return {"signature": wire.plain_signature(config.wechat.token, timestamp, nonce),
            "timestamp": timestamp, "nonce": nonce}


def _no_trace(status: int, text: str) -> None:
    event(f"HTTP {status}")  # --hypothesis-show-statistics shows how the input was answered
    assert status in ALLOWED, (status, text[:300])
    assert "Traceback" not in text and "Exception" not in text


FIELD_NAMES = st.sampled_from(["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content",
                               "MsgId", "Event", "EventKey", "Recognition", "MediaId",
                               "Location_X", "Location_Y", "Label", "PicUrl", "Encrypt"])
WEIRD_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
# What WeChat can actually send: any text XML 1.0 allows (no control characters).
XML_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=300)


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    """Random WeChat-shaped XML: real field names with wrong, odd or missing values."""
    fields = draw(st.dictionaries(FIELD_NAMES, st.one_of(
        WEIRD_TEXT, st.integers(-2**70, 2**70).map(str), st.sampled_from(
            ["text", "event", "voice", "image", "location", "subscribe", "CLICK", ""])),
        max_size=9))
    body = "".join(f"<{k}><![CDATA[{v}]]></{k}>" if draw(st.booleans()) else f"<{k}>{v}</{k}>"
                   for k, v in fields.items())
    xml = f"<xml>{body}</xml>"
    cut = draw(st.integers(0, len(xml)))
    raw = (xml[:cut] if draw(st.booleans()) else xml).encode("utf-8", "surrogatepass")
    encoding = draw(st.sampled_from(["utf-8", "gbk", "utf-16", "latin-1"]))
    if encoding != "utf-8":
        raw = raw.decode("utf-8", "ignore").encode(encoding, "ignore")
    return raw


@st.composite
def almost_valid(draw: st.DrawFn) -> bytes:
    """A well-formed message of a real type with one or two fields made strange."""
    openid = draw(st.sampled_from(["fuzz_a", "fuzz_b"]))
    kind = draw(st.sampled_from(["text", "voice", "event", "location", "image"]))
    fields: dict[str, Any] = {
        "text": {"Content": "我想买脐橙", "MsgId": 1},
        "voice": {"MediaId": "m", "Format": "amr", "Recognition": "我想买土鸡蛋", "MsgId": 2},
        "event": {"Event": "CLICK", "EventKey": "HELP"},
        "location": {"Location_X": "23.1", "Location_Y": "113.2", "Scale": "15",
                     "Label": "广州", "MsgId": 3},
        "image": {"PicUrl": "http://x/p.jpg", "MediaId": "m", "MsgId": 4}}[kind]
    for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=2, unique=True)):
        fields[name] = draw(st.one_of(XML_TEXT, st.integers(-2**70, 2**70)))
    fields["MsgId"] = draw(st.integers(1, 2**62)) if "MsgId" in fields else None
    fields = {k: v for k, v in fields.items() if v is not None}
    created = draw(st.one_of(st.just(int(time.time())), st.integers(-2**40, 2**40)))
    return wire.message_xml(openid, kind, fields, created_at=created).encode()


@FUZZ
@given(body=st.one_of(messages(), almost_valid(), st.binary(max_size=2000)))
def test_plain_webhook_survives_anything(plain: Running, body: bytes) -> None:
    _no_trace(*plain.post("/wechat", _plain_query(plain.config), body))


def _sealed_outer(config: Config, encrypt: str) -> tuple[dict[str, str], bytes]:
    timestamp, nonce = str(int(time.time())), "67890"
    signature = _get_signature(config.wechat.token, timestamp, nonce, encrypt)
    query = {"signature": wire.plain_signature(config.wechat.token, timestamp, nonce),
             "timestamp": timestamp, "nonce": nonce, "encrypt_type": "aes",
             "msg_signature": signature}
    return query, f"<xml><ToUserName>x</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()


@FUZZ
@given(encrypt=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
                       max_size=400))
def test_safe_mode_outer_ciphertext_is_refused_cleanly(safe: Running, encrypt: str) -> None:
    """A correctly signed Encrypt field that is not our ciphertext: 400, no crash."""
    status, text = safe.post("/wechat", *_sealed_outer(safe.config, encrypt))
    _no_trace(status, text)
    assert status in (400, 200)


@FUZZ
@given(inner=st.one_of(messages(), almost_valid()))
def test_safe_mode_inner_xml_is_parsed_safely(safe: Running, inner: bytes) -> None:
    """Properly encrypted and signed, but the decrypted message is garbage."""
    crypto = WeChatCrypto(safe.config.wechat.token, safe.config.wechat.encoding_aes_key,
                          safe.config.wechat.app_id)
    sealed = crypto.encrypt_message(inner.decode("utf-8", "replace"), "67890",
                                    str(int(time.time())))
    encrypt = sealed.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    _no_trace(*safe.post("/wechat", *_sealed_outer(safe.config, encrypt)))


BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10 if n > 1 else "&lol;" * 10}">'
                            for n in range(1, 10))
                  + ']><xml><Content>&lol9;</Content></xml>')
EXTERNAL = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            '<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1'
            '</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>')


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, EXTERNAL])
def test_entity_attacks_are_refused_before_they_expand(plain: Running, safe: Running,
                                                       hostile: str) -> None:
    started = time.monotonic()
    assert plain.post("/wechat", _plain_query(plain.config), hostile.encode())[0] == 400
    crypto = WeChatCrypto(safe.config.wechat.token, safe.config.wechat.encoding_aes_key,
                          safe.config.wechat.app_id)
    sealed = crypto.encrypt_message(hostile, "1", str(int(time.time())))
    encrypt = sealed.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    assert safe.post("/wechat", *_sealed_outer(safe.config, encrypt))[0] == 400
    assert time.monotonic() - started < 2  # refused, not expanded
    assert "root:" not in str(plain.rows("SELECT text, reply FROM message_log"))


# -- the catalogue import -------------------------------------------------------------

CELL = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                 st.floats(allow_nan=True, allow_infinity=True), WEIRD_TEXT,
                 st.lists(WEIRD_TEXT, max_size=3))
RECORD = st.dictionaries(st.sampled_from(["sku", "title", "category", "price", "unit", "stock",
                                          "origin", "seller", "seller_phone", "description",
                                          "tags", "assisted", "extra"]), CELL, max_size=13)


@FUZZ
@given(records=st.one_of(st.lists(RECORD, max_size=5), CELL, st.binary(max_size=300)))
def test_the_import_parser_accepts_or_names_the_problem(tmp_path: Path, records: Any) -> None:
    path = tmp_path / "fuzz.json"
    if isinstance(records, bytes):
        path.write_bytes(records)
    else:
        path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    try:
        rows = read(path)
    except CatalogueError as exc:
        assert str(exc).startswith("fuzz.json") or str(exc).startswith(str(path))
        return
    for row in rows:  # what passes is clean
        assert row.sku and 1 <= len(row.title) <= 60 and row.price_fen >= 0 and row.stock >= 0


# -- the seller form and the order form, through the real server ----------------------

SELLER_WORDS = st.lists(st.one_of(
    st.sampled_from(["我要卖", "确认", "取消", "修改 价格 4元", "价格改成", "产地是", "有300斤",
                     "三块五一斤", "土鸡蛋", "赣南脐橙", "跳过", "我的商品", "改价 1 12元",
                     "下架 1", "上架 1", "补货 1 100", "我的资料", "13800000000", "认领 ABC123",
                     "-5", "0元", "100000000斤", "给1号加图"]),
    XML_TEXT.filter(lambda s: s.strip())), min_size=1, max_size=6)


@FUZZ
@given(words=SELLER_WORDS)
def test_the_seller_form_never_errors(plain: Running, words: list[str]) -> None:
    openid = "fuzz_seller"
    for text in words:
        status, reply = plain.post("/wechat", _plain_query(plain.config),
                                   wire.text_xml(openid, text).encode())
        _no_trace(status, reply)
        assert status == 200
    assert plain.rows("SELECT count(*) FROM message_log WHERE outcome = 'error'") == [(0,)]
    # Nothing half-written: every listing a seller made by chat is complete and valid.
    assert plain.rows("SELECT count(*) FROM listings WHERE title = '' OR price_fen <= 0"
                      " OR stock < 0") == [(0,)]


FORM_VALUE = st.one_of(WEIRD_TEXT, st.integers(-10**9, 10**9).map(str),
                       st.sampled_from(["13812345678", "2", "北京市朝阳区建国路88号", ""]))
VALID_FORM = {"quantity": "1", "name": "张三", "phone": "13812345678",
              "address": "北京市朝阳区建国路88号3单元", "note": ""}


@FUZZ
@given(changes=st.dictionaries(st.sampled_from(["form", "quantity", "name", "phone", "address",
                                                 "note", "extra"]), FORM_VALUE, max_size=3),
       dropped=st.lists(st.sampled_from(sorted(VALID_FORM)), max_size=2),
       tamper=st.booleans())
def test_the_order_form_never_errors(plain: Running, changes: dict[str, str],
                                     dropped: list[str], tamper: bool) -> None:
    form = {k: v for k, v in VALID_FORM.items() if k not in dropped} | changes
    secret = plain.config.server.link_secret
    token = links.sign(secret, 1, "fuzz_buyer", int(time.time()))
    if tamper:
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    if "form" not in form and not tamper:
        form["form"] = links.form_field(secret, token)
    before = plain.rows("SELECT sum(stock) FROM listings")[0][0]
    placed = plain.rows("SELECT count(*) FROM orders")[0][0]
    status, page = plain.post(f"/o/{token}", {}, urllib.parse.urlencode(form).encode(),
                              "application/x-www-form-urlencoded")
    _no_trace(status, page)
    after = plain.rows("SELECT sum(stock) FROM listings")[0][0]
    orders_now = plain.rows("SELECT count(*) FROM orders")[0][0]
    taken = plain.rows("SELECT coalesce(sum(quantity), 0) FROM orders")[0][0]
    assert (status == 200) or (after == before and orders_now == placed)
    assert after >= 0 and taken >= 0
