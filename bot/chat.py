"""A terminal WeChat: type as a user, see the bot's decoded replies."""
from __future__ import annotations

import asyncio
import re

import aiohttp

from bot import wire
from bot.config import Config

HELP = "Type a message. Commands: /click KEY, /voice TEXT, /voice (empty), /subscribe, /quit"
_LINK = re.compile(r'<a href="([^"]+)">([^<]*)</a>')


def to_xml(line: str, openid: str) -> str | None:
    """Turn a typed line into the XML WeChat would send; None to quit."""
    if line in ("/quit", "/exit"):
        return None
    if line.startswith("/click "):
        return wire.event_xml(openid, "CLICK", line.split(maxsplit=1)[1].strip().upper())
    if line.startswith("/voice"):
        return wire.voice_xml(openid, line[len("/voice"):].strip())
    if line == "/subscribe":
        return wire.event_xml(openid, "subscribe", "")
    return wire.text_xml(openid, line)


async def send(session: aiohttp.ClientSession, config: Config, url: str, xml: str,
               openid: str) -> str:
    query, body = wire.seal(config, xml, openid)
    async with session.post(url, params=query, data=body) as response:
        text = await response.text()
        if response.status != 200:
            return f"(HTTP {response.status}: {text})"
    reply = wire.open_reply(config, text)
    content = reply.get("Content", "")
    return _LINK.sub(r"[\2: \1]", content) if content else "(no reply: success)"


async def run_chat(config: Config, url: str, openid: str) -> int:
    print(f"chatting with {url} as {openid} ({'safe' if config.safe_mode else 'plain'} mode)")
    print(HELP)
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        while True:
            line = await loop.run_in_executor(None, _prompt)
            if line is None:
                return 0
            if not line.strip():
                continue
            xml = to_xml(line.strip(), openid)
            if xml is None:
                return 0
            try:
                print(await send(session, config, url, xml, openid))
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                print(f"(cannot reach {url}: {exc.__class__.__name__}; is the server running?)")


def _prompt() -> str | None:
    try:
        return input("你> ")
    except EOFError:
        return None
