"""Seller photos at /media/{name}: only names we wrote, only image types, no path games."""
from __future__ import annotations

from aiohttp import web

from bot.media import media_folder
from bot.state import STATE
from db import media


def add_routes(app: web.Application) -> None:
    app.router.add_get("/media/{name}", photo)


async def photo(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if not media.NAME.match(name):  # no slashes, dots or other tricks get this far
        raise web.HTTPNotFound()
    state = request.app[STATE]
    content_type = await state.db.run(media.content_type, name)
    path = media_folder(state.config.db.path) / name
    if content_type is None or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={
        "Content-Type": content_type, "X-Content-Type-Options": "nosniff",
        "Cache-Control": "public, max-age=31536000, immutable"})
