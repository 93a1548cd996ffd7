"""What the running application holds: shared by the webhook and the browser pages."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.config import Config
from db import Database

if TYPE_CHECKING:
    from bot.outbox import Sender
    from bot.pipeline import HandleFn, Pipeline
    from bot.wechat_api import WeChatAPI


@dataclass
class AppState:
    config: Config
    db: Database
    owns_db: bool
    api: WeChatAPI | None = None
    pipeline: Pipeline | None = None
    sender: Sender | None = None
    handle: HandleFn | None = None
    ready: bool = False
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)


STATE = web.AppKey("state", AppState)
