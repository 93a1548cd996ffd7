"""Conversation basics: welcome, help, menu clicks, location, images, erasure."""
from __future__ import annotations

from db import outbox, users
from nlp.normalize import normalise
from handlers.router import Router, event_is, intent_is, kind_is
from handlers.context import Turn
from handlers.types import Reply

router = Router("common")

WELCOME = (
    "欢迎来到农货通🌾 这里连接城里的买家和乡村的卖家。\n"
    "买家：直接说想买什么，比如「我想买赣南脐橙」「有没有云南的土鸡蛋，五十块以内」，"
    "我帮您找好货并给出下单链接。\n"
    "卖家：发「我要卖赣南脐橙，三块五一斤，有300斤」，再回「确认」就上架了。"
)
HELP = (
    "怎么用农货通：\n"
    "1. 找货：直接发文字或语音，如「我想买脐橙」「五常大米 100块以内」。\n"
    "2. 下单：点回复里的「下单」链接，填好数量和地址提交。\n"
    "3. 查订单：发「我的订单」；发货前可「取消订单 订单号」，收到货回复「收到了 订单号」。\n"
    "4. 卖货：发「我要卖赣南脐橙，三块五一斤，有300斤」，回「确认」就上架；"
    "「我的商品」改价、补货、下架；「我的资料」改名字、手机、地区。\n"
    "底部菜单：找好货、我要卖、我的订单、帮助。"
)
FIND = "想买点什么？直接告诉我，比如「我想买赣南脐橙」或「有没有土鸡蛋，五十块以内」。"
VOICE_EMPTY = "抱歉，没听清您的语音🙏 请打字告诉我，比如「我想买脐橙」。"
IMAGE = ("收到图片啦！我暂时还看不懂图片，请用文字告诉我您想买什么。"
         "卖家给商品加图，请先发「给2号加图」再发照片。")
LOCATION = "已记下您的位置📍 找货时我会参考。"
GREETING = "您好！我是农货通，想买什么农货直接告诉我，比如「我想买脐橙」。"
THANKS = "不客气😊 还想买什么随时说。"
MESSAGES_SHOWN = "以上是等您查看的消息😊"
NO_MESSAGES = "没有新消息。想买什么直接告诉我，比如「我想买脐橙」。"
# Asking for the messages that did not fit in earlier replies (the pipeline puts them first).
MESSAGE_WORDS = frozenset({"消息", "通知", "查看消息", "查看通知", "看消息", "看通知", "新消息",
                           "我的消息", "有什么消息"})
OTHER = "没太明白您的意思😅 想买东西可以直接说货名，比如「我想买脐橙」；发「帮助」看用法。"


@router.on(event_is("subscribe"))
async def subscribe(turn: Turn) -> Reply:
    return Reply(WELCOME, intent="subscribe")


@router.on(event_is("unsubscribe"))
async def unsubscribe(turn: Turn) -> Reply:
    """The platform requires deleting a user's information when they leave."""
    await turn.services.db.run(users.erase, turn.inbound.openid)
    turn.session.clear()
    return Reply("", intent="unsubscribe", erase_user=True)


def _remember_location(turn: Turn) -> None:
    inbound = turn.inbound
    if inbound.latitude is not None and inbound.longitude is not None:
        turn.session["location"] = [inbound.latitude, inbound.longitude]


@router.on(event_is("location"))
async def location_event(turn: Turn) -> Reply:
    # Pushed silently whenever the user opens the chat; answering would be noise.
    _remember_location(turn)
    return Reply("", intent="location")


@router.on(kind_is("location"))
async def location_message(turn: Turn) -> Reply:
    _remember_location(turn)
    return Reply(LOCATION, intent="location")


@router.on(kind_is("image"))
async def image(turn: Turn) -> Reply:
    return Reply(IMAGE, intent="image")


@router.on(lambda turn: turn.inbound.kind == "voice" and not turn.inbound.text)
async def voice_without_text(turn: Turn) -> Reply:
    return Reply(VOICE_EMPTY, intent="voice_unrecognised")


def _asks_for_messages(turn: Turn) -> bool:
    return turn.inbound.kind in ("text", "voice") and (
        normalise(turn.inbound.text).strip(" ,") in MESSAGE_WORDS)


@router.on(_asks_for_messages)
async def waiting_messages(turn: Turn) -> Reply:
    waiting = await turn.services.db.run(outbox.count_pending, turn.inbound.openid)
    return Reply(MESSAGES_SHOWN if waiting else NO_MESSAGES, intent="messages")


@router.on(event_is("click", "FIND"))
async def find_click(turn: Turn) -> Reply:
    return Reply(FIND, intent="search")


@router.on(lambda turn: event_is("click", "HELP")(turn) or intent_is("help")(turn))
async def help_reply(turn: Turn) -> Reply:
    return Reply(HELP, intent="help")


@router.on(intent_is("greeting"))
async def greeting(turn: Turn) -> Reply:
    return Reply(GREETING, intent="greeting")


@router.on(intent_is("thanks"))
async def thanks(turn: Turn) -> Reply:
    return Reply(THANKS, intent="thanks")


fallback = Router("fallback")


@fallback.on(event_is("click"))
async def unknown_click(turn: Turn) -> Reply:
    return Reply(HELP, intent="help")


@fallback.on(kind_is("event"))
async def other_event(turn: Turn) -> Reply:
    return Reply("", intent="event")


@fallback.on(lambda turn: True)
async def other(turn: Turn) -> Reply:
    return Reply(OTHER, intent=turn.understanding.intent)
