"""Browser-facing pages: the order page, the simulator and the operator console,
rendered with Jinja2.

Kept apart from the WeChat protocol code in bot/: these routes speak HTML to
people, /wechat speaks signed XML to the platform.
"""
from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.config import Config

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def setup(app: web.Application, config: Config) -> None:
    """Templates, our own static files, and every page route."""
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                               autoescape=jinja2.select_autoescape(default=True),
                               undefined=jinja2.StrictUndefined)
    app.router.add_static("/static/", STATIC, name="static", append_version=True)
    from web import admin, media, order
    from web.admin.common import setup_filters

    setup_filters(env)
    order.add_routes(app)
    media.add_routes(app)
    admin.add_routes(app)
    if config.simulator_on:
        from web import simulator

        simulator.add_routes(app)
