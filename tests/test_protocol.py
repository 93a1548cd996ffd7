"""The WeChat protocol at /wechat: modes, official vectors, rejections, reply XML."""
from __future__ import annotations

import xml.dom.minidom

import pytest
from wechatpy import parse_message
from wechatpy.crypto import _get_signature

from bot import protocol, wire
from bot.config import from_mapping
from bot.protocol import Rejected
from tests.conftest import AES_KEY, OLD_AES_KEY, make_config, seed, start_bot, stop_bot

SAFE_VECTOR_ENCRYPT = (
    "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcv"
    "ZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3F"
    "n2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSe"
    "OBrebufAlr7F9mFUPAJGj04="
)
WECHATPY_VECTOR_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTy"
    "eDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYy"
    "olBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWO"
    "MZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7ml"
    "sl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
)


def vector_config(token: str, key: str, app_id: str):
    return from_mapping({"wechat": {"token": token, "encoding_aes_key": key, "app_id": app_id}},
                        env={})


# -- official vectors -------------------------------------------------------

def test_get_vector_from_the_message_push_guide() -> None:
    config = vector_config("AAAAA", "", "")
    query = {"signature": "f464b24fc39322e44b38aa78f5edd27bd1441696", "timestamp": "1714036504",
             "nonce": "1514711492", "echostr": "hello-echo"}
    assert protocol.verify_get(config, query) == "hello-echo"
    with pytest.raises(Rejected) as caught:
        protocol.verify_get(config, {**query, "nonce": "1514711493"})
    assert caught.value.status == 403


def test_safe_mode_vector_checks_msg_signature_and_decrypts() -> None:
    config = vector_config("AAAAA", "A" * 43, "wxba5fad812f8e6fb9")
    query = {"timestamp": "1714112445", "nonce": "415670741", "encrypt_type": "aes",
             "msg_signature": "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
             "signature": "0" * 40}  # wrong on purpose: safe mode must not check it
    body = f"<xml><Encrypt><![CDATA[{SAFE_VECTOR_ENCRYPT}]]></Encrypt></xml>".encode()
    envelope = protocol.open_post(config, query, body)
    assert '"debug_str":"hello world"' in envelope.xml
    assert envelope.crypto is not None
    with pytest.raises(Rejected) as caught:
        protocol.open_post(config, {**query, "msg_signature": "1" * 40}, body)
    assert caught.value.status == 403


def test_wechatpy_decrypt_vector_parses_to_a_text_message() -> None:
    config = vector_config("123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
                           "wx49f0ab532d5d035a")
    query = {"timestamp": "1411525903", "nonce": "461056294", "encrypt_type": "aes",
             "msg_signature": "74d92dfeb87ba7c714f89d98870ae5eb62dff26d"}
    body = (f"<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>"
            f"<Encrypt><![CDATA[{WECHATPY_VECTOR_ENCRYPT}]]></Encrypt></xml>").encode()
    message = protocol.parse(protocol.open_post(config, query, body).xml)
    assert message.type == "text"
    assert message.content == "test"
    assert message.id == 4363689963896700987


# -- modes over HTTP --------------------------------------------------------

async def test_get_verification_over_http(bot) -> None:
    query = {"timestamp": "1714036504", "nonce": "1514711492", "echostr": "echo-123"}
    query["signature"] = wire.plain_signature("test-token", query["timestamp"], query["nonce"])
    async with bot.session.get(bot.url, params=query) as response:
        assert (response.status, await response.text()) == (200, "echo-123")
    async with bot.session.get(bot.url, params={**query, "signature": "x"}) as response:
        assert response.status == 403


async def test_safe_mode_reply_is_encrypted(bot) -> None:
    query, body = wire.seal(bot.config, wire.text_xml("user_s", "帮助"), "user_s")
    assert query["encrypt_type"] == "aes"
    status, text = await bot.post_raw(query, body)
    assert status == 200 and "<Encrypt>" in text and "帮助" not in text
    assert "怎么用" in wire.open_reply(bot.config, text)["Content"]


async def test_plain_post_is_accepted_with_a_valid_signature(bot, tmp_path) -> None:
    plain = make_config(tmp_path, safe=False)
    query, body = wire.seal(plain, wire.text_xml("user_p", "帮助"), "user_p")
    status, text = await bot.post_raw(query, body)
    assert status == 200
    assert "<Encrypt>" not in text
    assert "怎么用" in wire.open_reply(plain, text)["Content"]


async def test_compatible_mode_carries_both_and_answers_encrypted(bot) -> None:
    xml = wire.text_xml("user_c", "帮助")
    query, sealed = wire.seal(bot.config, xml, "user_c")
    encrypt = sealed.decode().split("<Encrypt>")[1].split("</Encrypt>")[0]
    both = xml.replace("</xml>", f"<Encrypt>{encrypt}</Encrypt></xml>").encode()
    status, text = await bot.post_raw(query, both)
    assert status == 200 and "<Encrypt>" in text
    assert "怎么用" in wire.open_reply(bot.config, text)["Content"]


async def test_previous_key_still_works_and_the_reply_uses_it(tmp_path) -> None:
    config = make_config(tmp_path, wechat={"previous_encoding_aes_key": OLD_AES_KEY})
    seed(config)
    running = await start_bot(config)
    try:
        old = make_config(tmp_path, wechat={"encoding_aes_key": OLD_AES_KEY})
        query, body = wire.seal(old, wire.text_xml("user_r", "帮助"), "user_r")
        status, text = await running.post_raw(query, body)
        assert status == 200
        assert "怎么用" in wire.open_reply(old, text)["Content"]
        with pytest.raises(Exception):
            wire.open_reply(config, text)  # not sealed with the current key
    finally:
        await stop_bot(running)


# -- rejections -------------------------------------------------------------

async def test_bad_signature_is_403_and_not_processed(bot, tmp_path) -> None:
    query, body = wire.seal(bot.config, wire.text_xml("user_x", "我想买榴莲"), "user_x")
    status, _ = await bot.post_raw({**query, "msg_signature": "0" * 40}, body)
    assert status == 403
    plain = make_config(tmp_path, safe=False)
    query, body = wire.seal(plain, wire.text_xml("user_x", "我想买榴莲"), "user_x")
    status, _ = await bot.post_raw({**query, "signature": "0" * 40}, body)
    assert status == 403
    assert bot.db_rows("SELECT count(*) FROM unmet_demand") == [(0,)]
    assert await bot.log_rows("SELECT count(*) FROM message_log") == [(0,)]


async def test_oversized_body_is_413_before_anything_else(bot) -> None:
    status, _ = await bot.post_raw({"signature": "bad"}, b"<xml>" + b"x" * (64 * 1024) + b"</xml>")
    assert status == 413


def _sealed_inner(config, inner: str) -> tuple[dict[str, str], bytes]:
    return wire.seal(config, inner, "user_bad")


@pytest.mark.parametrize("inner", [
    "<xml><ToUserName>a</ToUserName>",                                   # malformed
    '<!DOCTYPE xml><xml><ToUserName>a</ToUserName></xml>',               # DOCTYPE, no entity
    '<!DOCTYPE x [<!ENTITY e "boom">]><xml><Content>&e;</Content></xml>',  # entity
    "<xml><MsgType>text</MsgType></xml>",                                # missing fields
    "<other>foreign</other>",                                            # foreign root
    "",                                                                  # empty
    "<xml><ToUserName>a</ToUserName><FromUserName>u</FromUserName><CreateTime>x</CreateTime>"
    "<MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>",  # bad CreateTime
])
async def test_undecodable_or_unparseable_bodies_are_400_and_logged(bot, inner: str) -> None:
    query, body = _sealed_inner(bot.config, inner)
    status, _ = await bot.post_raw(query, body)
    assert status == 400
    assert await bot.log_rows("SELECT outcome FROM message_log") == [("rejected",)]


async def test_wrong_cipher_and_wrong_app_id_are_400(bot, tmp_path) -> None:
    other_key = make_config(tmp_path, wechat={"encoding_aes_key": OLD_AES_KEY})
    other_app = make_config(tmp_path, wechat={"app_id": "wx0000000000000000"})
    for sender in (other_key, other_app):
        query, body = wire.seal(sender, wire.text_xml("user_w", "帮助"), "user_w")
        status, _ = await bot.post_raw(query, body)
        assert status == 400
    query, _ = wire.seal(bot.config, wire.text_xml("user_w", "帮助"), "user_w")
    garbage = b"<xml><Encrypt><![CDATA[bm90IGEgY2lwaGVy]]></Encrypt></xml>"
    query["msg_signature"] = _get_signature("test-token", query["timestamp"], query["nonce"],
                                            "bm90IGEgY2lwaGVy")
    status, _ = await bot.post_raw(query, garbage)
    assert status == 400


async def test_unknown_message_types_get_success(bot) -> None:
    for xml in (wire.message_xml("user_u", "shortvideo", {"MediaId": "m", "MsgId": 77}),
                wire.event_xml("user_u", "TEMPLATESENDJOBFINISH")):
        query, body = wire.seal(bot.config, xml, "user_u")
        status, text = await bot.post_raw(query, body)
        assert (status, text) == (200, "success")


# -- reply XML --------------------------------------------------------------

def test_reply_xml_is_well_formed_with_control_chars_and_cdata_end() -> None:
    message = parse_message(wire.text_xml("user_z", "hi"))
    content = "价格]]>便宜\x00\x07\x1b了\ud800！"
    rendered = protocol.text_reply(message, content)
    document = xml.dom.minidom.parseString(rendered.encode("utf-8"))
    text = "".join(node.data for node in
                   document.getElementsByTagName("Content")[0].childNodes)
    assert text == "价格]]>便宜了！"


async def test_safe_mode_checks_the_signature_before_parsing(bot) -> None:
    query, body = wire.seal(bot.config, wire.text_xml("user_o", "帮助"), "user_o")
    hostile = b'<!DOCTYPE x [<!ENTITY e "boom">]>' + body
    status, _ = await bot.post_raw({**query, "msg_signature": "0" * 40}, hostile)
    assert status == 403  # a bad signature is refused before any parsing
    status, _ = await bot.post_raw(query, hostile)
    assert status == 400
