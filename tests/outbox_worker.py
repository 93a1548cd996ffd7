"""A separate process draining the outbox, for the multi-process and crash tests.

    python -m tests.outbox_worker DB API_BASE GO_FILE LEASE_SECONDS

Says it is ready (GO_FILE.ready.PID), waits for GO_FILE to exist, drains until
nothing is queued, prints how many it handled.
"""
from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bot.config import from_mapping
from bot.outbox import Sender
from bot.pipeline import owner_name
from bot.wechat_api import WeChatAPI
from db import Database

TEMPLATE = {"template_id": "TPL-RESTOCK", "fields": {"first": "{text}"}}


async def main(db_path: str, api_base: str, go: Path, lease: float) -> int:
    config = from_mapping({"wechat": {"token": "t", "app_id": "wx1234567890abcdef",
                                      "app_secret": "test-secret", "api_base": api_base},
                           "notify": {"templates": {"restock": TEMPLATE}}}, env={})
    db = Database(db_path)
    api = WeChatAPI(config, db)
    sender = Sender(config, db, api, owner_name(), lease_seconds=lease)
    go.with_name(f"{go.name}.ready.{os.getpid()}").touch()
    while not go.exists():  # both workers start together, so both get work
        await asyncio.sleep(0.005)
    handled = 0
    try:
        while batch := await sender.drain():
            handled += batch
    finally:
        await api.close()
        db.close()
    print(handled, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), float(sys.argv[4]))))
