"""The operator console at /admin: dashboard, conversation log, unmet demand,
listings and the audit trail. Every route but the login form goes through
access.guard; the role each route needs is declared here, in one table."""
from __future__ import annotations

from aiohttp import web

from web.admin import access, audit_page, dashboard, demand, listings, log

# (method, path, handler, role)
ROUTES = (
    ("GET", "/admin", dashboard.page, "viewer"),
    ("GET", "/admin/log", log.page, "viewer"),
    ("GET", "/admin/log/user/{openid}", log.transcript, "viewer"),
    ("POST", "/admin/log/{id:\\d+}/reveal", log.reveal, "admin"),
    ("GET", "/admin/demand", demand.page, "viewer"),
    ("GET", "/admin/demand.csv", demand.export, "viewer"),
    ("GET", "/admin/listings", listings.page, "viewer"),
    ("GET", "/admin/listings/{id:\\d+}", listings.detail, "viewer"),
    ("POST", "/admin/listings/{id:\\d+}", listings.edit, "admin"),
    ("POST", "/admin/listings/{id:\\d+}/delist", listings.delist, "admin"),
    ("POST", "/admin/listings/{id:\\d+}/reveal", listings.reveal, "admin"),
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
