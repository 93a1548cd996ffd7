"""The seller's profile: display name, mobile phone, region. Asked once, after the
first listing is published, one skippable question at a time; 我的资料 shows and
changes it. A phone is shown masked in every reply (138****0000)."""
from __future__ import annotations

from db import sellers, transaction
from handlers.context import Turn
from handlers.router import Router
from handlers.states import ProfileForm, finish
from handlers.types import Reply
from nlp.normalize import normalise
from nlp.seller import (asks_for_profile, banned_word, is_skip, mask_phone, origin_text,
                        phone_number, place_of, profile_edit, stops_profile)

forms = Router("seller-profile-form")
router = Router("seller-profile")

MAX_NAME = 20
ASK = {
    "name": "顺便完善一下卖家资料，每项都可以回复「跳过」：\n怎么称呼您？买家会看到这个名字，比如「寻乌果农老刘」。",
    "phone": "您的手机号是多少？只给买了您货的买家看，回复「跳过」不填。",
    "region": "您在哪个地区？以后上架默认用它做产地，比如「江西赣州寻乌」，也可以发送位置。",
}
NOT_SELLER = "您还没有卖家资料。先发「我要卖…」上架第一件商品吧，比如「我要卖土鸡蛋，一块五一个，有500个」。"
STOPPED = "好的，不填了。以后发「我的资料」随时可以补上。"
BAD_PHONE = "这不是有效的手机号，请发11位手机号，比如13800138000；或回复「跳过」。"
BAD_REGION = "没认出是哪个地区，请说省市县，比如「江西赣州寻乌」；或回复「跳过」。"
ORDER = (ProfileForm.name, ProfileForm.phone, ProfileForm.region)


def card(seller: sellers.Seller) -> str:
    region = seller.region.replace(" ", "") or "未填"
    return (f"您的卖家资料：\n名字：{seller.name}\n手机：{mask_phone(seller.phone) or '未填'}\n"
            f"地区：{region}\n修改就说「名字改成 老刘」「手机改成 13800000000」「地区改成 江西赣州」。")


async def begin_onboarding(turn: Turn, seller_id: int) -> str:
    """After a first listing: the first profile question, asked only once ever."""
    def claim_onboarding(conn) -> bool:  # type: ignore[no-untyped-def]
        with transaction(conn):
            seller = sellers.get(conn, seller_id)
            if seller is None or seller.onboarding != "new":
                return False
            sellers.set_onboarding(conn, seller_id, "done")
            return True

    if not await turn.services.db.run(claim_onboarding):
        return ""
    ProfileForm.name.enter(turn.session)
    return ASK["name"]


def _problem(field: str, value: str, banned: frozenset[str]) -> tuple[str | None, str]:
    """(problem, the value to store)."""
    if field == "name":
        name = value.strip(" 「」\"'")
        if not name or len(name) > MAX_NAME:
            return f"名字请在1到{MAX_NAME}个字之间。", ""
        word = banned_word(name, banned)
        return (f"名字里不能有「{word}」。" if word else None), name
    if field == "phone":
        phone, _ = phone_number(value)
        return (None, phone) if phone else (BAD_PHONE, "")
    origin = place_of(value)
    return (None, origin_text(origin)) if origin else (BAD_REGION, "")


async def _save(turn: Turn, field: str, value: str) -> sellers.Seller | None:
    def save(conn) -> sellers.Seller | None:  # type: ignore[no-untyped-def]
        seller = sellers.by_openid(conn, turn.inbound.openid)
        if seller is None:
            return None
        with transaction(conn):
            sellers.update_profile(conn, seller.id, **{field: value})
        return sellers.by_openid(conn, turn.inbound.openid)
    return await turn.services.db.run(save)


def _next(turn: Turn, after: str) -> str:
    names = [state.name.partition(":")[2] for state in ORDER]
    later = names[names.index(after) + 1:]
    if not later:
        finish(turn.session)
        return ""
    ORDER[names.index(later[0])].enter(turn.session)
    return ASK[later[0]]


def _in_profile_form(turn: Turn) -> bool:
    return ProfileForm.active(turn.session) is not None and turn.inbound.kind in (
        "text", "voice", "location")


@forms.on(_in_profile_form)
async def profile_step(turn: Turn) -> Reply | None:
    state = ProfileForm.active(turn.session)
    assert state is not None
    field = state.name.partition(":")[2]
    text = turn.inbound.text
    if turn.inbound.kind == "location" and field != "region":
        return None
    if stops_profile(text):
        finish(turn.session)
        return Reply(STOPPED, intent="profile")
    if is_skip(text):
        question = _next(turn, field)
        return Reply(question or "好的。资料可以随时发「我的资料」补上。", intent="profile")
    if _elsewhere(turn, field):
        finish(turn.session)  # optional questions never stand in the way
        return None
    problem, value = _problem(field, text, turn.services.banned_words)
    if problem:
        return Reply(problem, intent="profile")
    seller = await _save(turn, field, value)
    question = _next(turn, field)
    if question:
        return Reply(f"记下了✅\n{question}", intent="profile")
    return Reply("资料已保存✅\n" + (card(seller) if seller else ""), intent="profile")


def _elsewhere(turn: Turn, field: str) -> bool:
    """A message that is a request of its own, not an answer to the question."""
    intent = turn.understanding.intent
    if intent in ("sell", "my_listings", "update_listing", "my_orders", "help", "choose"):
        return True
    norm = normalise(turn.inbound.text)
    if any(cue in norm for cue in ("买", "有没有", "认领", "我的")):
        return True
    if field == "name":
        return intent == "search" and len(norm) > MAX_NAME
    if field == "phone":
        return phone_number(turn.inbound.text) == (None, False) and intent == "search"
    return intent == "search" and place_of(turn.inbound.text) is None


# -- 我的资料 ----------------------------------------------------------------

@router.on(lambda turn: turn.inbound.kind in ("text", "voice")
           and asks_for_profile(turn.inbound.text))
async def show_profile(turn: Turn) -> Reply:
    seller = await turn.services.db.run(sellers.by_openid, turn.inbound.openid)
    return Reply(card(seller) if seller else NOT_SELLER, intent="profile")


def _edits_profile(turn: Turn) -> bool:
    return turn.inbound.kind in ("text", "voice") and profile_edit(turn.inbound.text) is not None


@router.on(_edits_profile)
async def edit_profile(turn: Turn) -> Reply | None:
    edit = profile_edit(turn.inbound.text)
    assert edit is not None
    field, raw = edit
    seller = await turn.services.db.run(sellers.by_openid, turn.inbound.openid)
    if seller is None:
        return None  # not a seller: 电话多少 is someone else's question
    problem, value = _problem(field, raw, turn.services.banned_words)
    if problem:
        return Reply(problem, intent="profile")
    updated = await _save(turn, field, value)
    return Reply("已修改✅\n" + (card(updated) if updated else ""), intent="profile")
