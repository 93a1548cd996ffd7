"""Named conversation steps, kept in the SQLite session (aiogram's StatesGroup idea).

    class SellForm(StatesGroup):
        goods = State()      # SellForm.goods.name == "SellForm:goods"

A form lives under session["form"] as {"state": name, **data}, so it survives a
restart; db/users.py expires it after 30 minutes idle and hands the expired form
back once (session["expired"]) so the user can be told.
"""
from __future__ import annotations

from typing import Any

FORM = "form"
EXPIRED = "expired"  # set by db.users.load_session when an idle session was dropped


class State:
    def __init__(self) -> None:
        self.name = ""

    def __set_name__(self, owner: type, attribute: str) -> None:
        self.name = f"{owner.__name__}:{attribute}"

    def __repr__(self) -> str:
        return f"State({self.name})"

    def active(self, session: dict[str, Any]) -> bool:
        return current(session) == self.name

    def enter(self, session: dict[str, Any], **data: Any) -> None:
        """Move to this step; data given replaces the form's data of that name."""
        form = dict(session.get(FORM) or {})
        form.update(data, state=self.name)
        session[FORM] = form


class StatesGroup:
    @classmethod
    def states(cls) -> list[State]:
        return [value for value in vars(cls).values() if isinstance(value, State)]

    @classmethod
    def active(cls, session: dict[str, Any]) -> State | None:
        name = current(session)
        return next((state for state in cls.states() if state.name == name), None)


class SellForm(StatesGroup):
    """A listing being created: only the missing parts are asked, then a summary."""
    goods = State()
    price = State()
    stock = State()
    origin = State()
    confirm = State()


class ProfileForm(StatesGroup):
    """After the first listing: one skippable question at a time."""
    name = State()
    phone = State()
    region = State()


class PhotoForm(StatesGroup):
    """给2号加图: the next image message is that listing's photo."""
    waiting = State()


def current(session: dict[str, Any]) -> str | None:
    form = session.get(FORM)
    return form.get("state") if isinstance(form, dict) else None


def data(session: dict[str, Any]) -> dict[str, Any]:
    form = session.get(FORM)
    return form if isinstance(form, dict) else {}


def finish(session: dict[str, Any]) -> None:
    session.pop(FORM, None)
