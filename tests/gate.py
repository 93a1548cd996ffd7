"""A gate around the real root router, so a test decides when handling finishes."""
from __future__ import annotations

import asyncio

import handlers
from handlers.context import Turn
from handlers.types import Reply


class Gate:
    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.calls = 0

    async def __call__(self, turn: Turn) -> Reply:
        self.calls += 1
        self.entered.set()
        await self.release.wait()
        return await handlers.handle(turn)


async def until(condition, limit: float = 5.0) -> None:
    """Wait for a condition the code under test will make true; fail past the limit."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + limit
    while not condition():
        assert loop.time() < give_up, "condition never became true"
        await asyncio.sleep(0.005)
