"""The browser pages share one template setup and our own static files."""
from __future__ import annotations

import re
from pathlib import Path

import web

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


def test_templates_and_static_files_load_nothing_from_elsewhere() -> None:
    files = [*web.TEMPLATES.rglob("*.html"), *web.STATIC.rglob("*")]
    assert files
    for path in files:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert not EXTERNAL.search(text), f"{path} loads something from another host"
            assert "@import url(http" not in text


async def test_site_css_is_served_with_a_version(bot) -> None:
    async with bot.session.get(bot.server.make_url("/wechat").with_path("/static/site.css")) as r:
        assert r.status == 200 and "text/css" in r.headers["Content-Type"]
        assert ".card" in await r.text()
