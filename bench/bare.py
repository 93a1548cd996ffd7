"""The ceiling the webhook bench compares against: a bare aiohttp endpoint that does only
what wechatpy must (verify the signature, decrypt, parse, render and encrypt a fixed reply).

Run as `python -m bench.bare CONFIG PORT`; the bench starts it as its own process.
"""
from __future__ import annotations

import sys
import time

from aiohttp import web
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto

from bot.config import load

FIXED_REPLY = "为您找到这些好货：1. 赣南脐橙 10斤装"


def create_bare_app(token: str, aes_key: str, app_id: str) -> web.Application:
    crypto = WeChatCrypto(token, aes_key, app_id)

    async def receive(request: web.Request) -> web.Response:
        query = request.query
        body = await request.read()
        try:  # decrypt_message checks msg_signature before decrypting
            xml = crypto.decrypt_message(body.decode("utf-8"), query.get("msg_signature", ""),
                                         query.get("timestamp", ""), query.get("nonce", ""))
            message = parse_message(xml)
        except Exception:
            return web.Response(status=400, text="bad request")
        reply = create_reply(FIXED_REPLY, message, render=True)
        sealed = crypto.encrypt_message(reply, query.get("nonce", ""), str(int(time.time())))
        return web.Response(text=sealed, content_type="application/xml")

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/wechat", receive)
    app.router.add_get("/healthz", healthz)
    return app


def main(argv: list[str]) -> int:
    config = load(argv[0])
    web.run_app(create_bare_app(config.wechat.token, config.wechat.encoding_aes_key,
                                config.wechat.app_id),
                host="127.0.0.1", port=int(argv[1]), print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
