"""Photos from image messages: fetched through the media API (a MediaId expires after
3 days, and WeChat-hosted images do not load off Tencent's domains), checked, and
kept under media/ beside the database, served by web/media.py from our own URL."""
from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

from bot.wechat_api import MediaTooLarge, WeChatAPI, WeChatAPIError
from db.media import CONTENT_TYPES
from handlers.types import Photo, PhotoError

MAX_PHOTO_BYTES = 10 * 1024 * 1024
EXPIRED_MEDIA = frozenset({40007})  # invalid media_id: expired or never ours
# Magic numbers: the bytes decide the type, never a header or a file name.
_SIGNATURES = ((b"\xff\xd8\xff", "jpg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"GIF87a", "gif"),
               (b"GIF89a", "gif"))


def media_folder(db_path: str | Path) -> Path:
    return Path(db_path).resolve().parent / "media"


def image_extension(body: bytes) -> str | None:
    for signature, extension in _SIGNATURES:
        if body.startswith(signature):
            return extension
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "webp"
    return None


def _write(folder: Path, name: str, body: bytes) -> None:
    """Atomically: a crash never leaves half a photo under its final name."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.exists():
        return
    temporary = folder / f".{name}.{os.getpid()}.tmp"
    temporary.write_bytes(body)
    os.replace(temporary, target)


class MediaStore:
    def __init__(self, folder: Path, api: WeChatAPI | None,
                 max_bytes: int = MAX_PHOTO_BYTES) -> None:
        self.folder = folder
        self.api = api
        self.max_bytes = max_bytes

    async def fetch(self, media_id: str) -> Photo:
        if self.api is None or not media_id:
            raise PhotoError("unavailable")
        try:
            body = await self.api.get_media(media_id, self.max_bytes)
        except MediaTooLarge:
            raise PhotoError("too_large") from None
        except WeChatAPIError as exc:
            raise PhotoError("expired" if exc.errcode in EXPIRED_MEDIA else "failed") from None
        extension = image_extension(body)
        if extension is None:
            raise PhotoError("not_image")
        name = f"{hashlib.sha256(body).hexdigest()}.{extension}"
        await asyncio.get_running_loop().run_in_executor(None, _write, self.folder, name, body)
        return Photo(name, CONTENT_TYPES[extension], len(body))
