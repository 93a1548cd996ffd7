"""The operator console at /admin: dashboard, conversation log, unmet demand,
listings with their moderation queue, orders and the audit trail. Every route but the login form goes through
access.guard; the role each route needs is declared here, in one table."""
from __future__ import annotations

from aiohttp import web

from web.admin import (access, audit_page, dashboard, demand, listings, log, moderation,
                       orders)

# (method, path, handler, role); ids have at most 18 digits, so they fit a SQLite integer.
ROUTES = (
    ("GET", "/admin", dashboard.page, "viewer"),
    ("GET", "/admin/log", log.page, "viewer"),
    ("GET", "/admin/log/user/{openid}", log.transcript, "viewer"),
    ("POST", "/admin/log/{id:\\d{1,18}}/reveal", log.reveal, "admin"),
    ("GET", "/admin/demand", demand.page, "viewer"),
    ("GET", "/admin/demand.csv", demand.export, "viewer"),
    ("GET", "/admin/listings", listings.page, "viewer"),
    ("GET", "/admin/listings/{id:\\d{1,18}}", listings.detail, "viewer"),
    ("POST", "/admin/listings/{id:\\d{1,18}}", listings.edit, "admin"),
    ("POST", "/admin/listings/{id:\\d{1,18}}/delist", listings.delist, "admin"),
    ("POST", "/admin/listings/{id:\\d{1,18}}/reveal", listings.reveal, "admin"),
    ("GET", "/admin/moderation", moderation.page, "viewer"),
    ("POST", "/admin/moderation/{id:\\d{1,18}}/approve", moderation.approve, "admin"),
    ("POST", "/admin/moderation/{id:\\d{1,18}}/reject", moderation.reject, "admin"),
    ("GET", "/admin/orders", orders.page, "viewer"),
    ("GET", "/admin/orders/{id:\\d{1,18}}", orders.detail, "viewer"),
    ("POST", "/admin/orders/{id:\\d{1,18}}/status", orders.change_status, "admin"),
    ("POST", "/admin/orders/{id:\\d{1,18}}/reveal", orders.reveal, "admin"),
    ("GET", "/admin/audit", audit_page.page, "admin"),
    ("POST", "/admin/logout", access.logout, "viewer"),
)
# The only routes anyone may reach: the login form and its submission.
PUBLIC = (("GET", access.LOGIN_PATH, access.login_page), ("POST", access.LOGIN_PATH, access.login))


def add_routes(app: web.Application) -> None:
    for method, path, handler in PUBLIC:
        app.router.add_route(method, path, handler)
    for method, path, handler, role in ROUTES:
        app.router.add_route(method, path, access.guard(handler, role))
