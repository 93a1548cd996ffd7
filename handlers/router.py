"""A small router: handlers register with a predicate; routers nest.

A turn propagates in registration order until one handler returns a Reply.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers.context import Turn
from handlers.types import Reply

Handler = Callable[[Turn], Awaitable[Reply | None]]
Predicate = Callable[[Turn], bool]


class Router:
    def __init__(self, name: str) -> None:
        self.name = name
        self._routes: list[tuple[Predicate, Handler] | Router] = []

    def on(self, predicate: Predicate) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._routes.append((predicate, handler))
            return handler
        return register

    def include(self, router: Router) -> None:
        self._routes.append(router)

    async def dispatch(self, turn: Turn) -> Reply | None:
        for route in self._routes:
            if isinstance(route, Router):
                reply = await route.dispatch(turn)
            else:
                predicate, handler = route
                reply = await handler(turn) if predicate(turn) else None
            if reply is not None:
                return reply
        return None


def intent_is(*intents: str) -> Predicate:
    return lambda turn: turn.understanding.intent in intents


def event_is(event: str, *keys: str) -> Predicate:
    def matches(turn: Turn) -> bool:
        inbound = turn.inbound
        return inbound.kind == "event" and inbound.event == event and (
            not keys or inbound.event_key in keys)
    return matches


def kind_is(*kinds: str) -> Predicate:
    return lambda turn: turn.inbound.kind in kinds
