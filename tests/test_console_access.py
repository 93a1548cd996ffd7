"""Who may use the console: every route guarded, CSRF, login limits, roles, masking."""
from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
from aiohttp import web

import web.admin as console
from db import audit, listing_admin, operators
from tests.conftest import make_config, seed, start_bot, stop_bot
from tests.console import PASSWORD, add_operator, browser, db_call, signed_in

SELLER_PHONE = "13900000001"      # 寻乌果农刘大姐 in tests/data/catalogue.json
BUYER_PHONE = "13812345678"


def _fill(path: str) -> str:
    return re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: "1" if m.group(1) == "id" else "someone", path)


def _console_routes(app: web.Application) -> list[tuple[str, str]]:
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or ""
        if path.startswith("/admin") and route.method != "HEAD":
            found.append((route.method, path))
    return found


async def test_every_console_route_refuses_anonymous_access(bot) -> None:
    routes = _console_routes(bot.server.app)
    public = {(method, path) for method, path, _ in console.PUBLIC}
    guarded = [route for route in routes if route not in public]
    assert len(guarded) == len(console.ROUTES) >= 12
    assert public == {("GET", "/admin/login"), ("POST", "/admin/login")}
    anonymous = browser(bot)
    stale = browser(bot)
    stale.session.cookie_jar.update_cookies({"nh_console": "not-a-session"},
                                            bot.server.make_url("/admin"))
    try:
        for client in (anonymous, stale):
            for method, path in guarded:
                url = _fill(path)
                if method == "GET":
                    status, body = await client.get(url)
                    assert status == 303, (method, path, status)
                else:
                    status, body, _ = await client.post(url, {"csrf": "x", "reason": "r",
                                                              "title": "t"})
                    assert status == 401, (method, path, status)
                assert "赣南脐橙" not in body and SELLER_PHONE not in body
    finally:
        await anonymous.close()
        await stale.close()
    assert db_call(bot.config, audit.recent) == []


async def test_login_session_cookie_and_logout(bot) -> None:
    add_operator(bot.config, "wang", "admin")
    client = browser(bot)
    try:
        status, _ = await client.get("/admin/log?outcome=no_match")
        assert status == 303
        wrong = await client.login("wang", "not the password")
        assert wrong.status == 401
        response = await client.login("wang")
        assert response.status == 303 and response.headers["Location"] == "/admin"
        cookie = next(value for name, value in response.headers.items()
                      if name == "Set-Cookie" and value.startswith("nh_console="))
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie
        assert "Secure" not in cookie  # public_url is http here
        status, page = await client.get("/admin")
        assert status == 200 and "wang（管理员）" in page
        status, _, headers = await client.post("/admin/logout")
        assert status == 303 and headers["Location"] == "/admin/login"
        status, _ = await client.get("/admin")
        assert status == 303
    finally:
        await client.close()
    token_hashes = bot.db_rows("SELECT token_hash FROM operator_sessions")
    assert token_hashes == []  # logout ended it; and only hashes are ever stored


async def test_a_session_token_is_stored_only_as_a_hash(bot) -> None:
    client = await signed_in(bot, "li", "viewer")
    try:
        token = next(c.value for c in client.session.cookie_jar if c.key == "nh_console")
        stored = bot.db_rows("SELECT token_hash FROM operator_sessions")
        assert len(stored) == 1 and token not in stored[0][0]
    finally:
        await client.close()


async def test_the_cookie_is_secure_behind_https(tmp_path: Path) -> None:
    config = make_config(tmp_path, server={"public_url": "https://shop.example"})
    seed(config)
    running = await start_bot(config)
    add_operator(config, "wang", "admin")
    session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
    try:  # the client speaks http to the test server, so it hands the cookie back itself
        async with session.get(running.server.make_url("/admin/login")) as response:
            login_cookie = response.headers["Set-Cookie"]
            token = re.search(r'name="login_token" value="([^"]+)"', await response.text())[1]
        assert "Secure" in login_cookie
        async with session.post(running.server.make_url("/admin/login"), allow_redirects=False,
                                headers={"Cookie": login_cookie.split(";")[0]}, data={
                "login_token": token, "name": "wang", "password": PASSWORD}) as response:
            cookie = response.headers.getall("Set-Cookie")
        assert response.status == 303
        assert any(c.startswith("nh_console=") and "Secure" in c for c in cookie)
    finally:
        await session.close()
        await stop_bot(running)


async def test_csrf_is_required_on_every_form(bot) -> None:
    client = await signed_in(bot, "wang", "admin")
    edit = {"title": "赣南脐橙 改过", "price": "9.9", "stock": "10", "status": "live"}
    try:
        for data, csrf, headers in ((edit, False, None),
                                    ({**edit, "csrf": "forged"}, False, None),
                                    (edit, True, {"Origin": "https://evil.example"})):
            status, page, _ = await client.post("/admin/listings/1", data, csrf, headers)
            assert status == 403 and "CSRF" in page
        status, _, _ = await client.post("/admin/logout", csrf=False)
        assert status == 403
        assert db_call(bot.config, listing_admin.detail, 1).title == "赣南脐橙 现摘现发 10斤装"
        status, _, _ = await client.post("/admin/listings/1", edit)
        assert status == 303
        assert db_call(bot.config, listing_admin.detail, 1).title == "赣南脐橙 改过"
    finally:
        await client.close()
    login = browser(bot)
    try:  # the login form has its own token, tied to a cookie
        async with login.session.post(login.url("/admin/login"), allow_redirects=False, data={
                "login_token": "guess", "name": "wang", "password": PASSWORD}) as response:
            assert response.status == 403
    finally:
        await login.close()


async def test_failed_logins_are_limited_per_operator(bot) -> None:
    add_operator(bot.config, "wang", "admin")
    add_operator(bot.config, "li", "viewer")
    client = browser(bot)
    try:
        for _ in range(operators.USER_LIMIT):
            assert (await client.login("wang", "wrong password")).status == 401
        locked = await client.login("wang")  # even the right password waits now
        assert locked.status == 429 and int(locked.headers["Retry-After"]) > 0
        status, page = await client.get("/admin")
        assert status == 303
        assert (await client.login("li")).status == 303  # another operator is not locked
    finally:
        await client.close()


async def test_a_burst_of_parallel_guesses_cannot_outrun_the_limit(bot) -> None:
    add_operator(bot.config, "wang", "admin")
    clients = [browser(bot) for _ in range(12)]
    try:
        results = await asyncio.gather(*(c.login("wang", f"guess {n}")
                                         for n, c in enumerate(clients)))
    finally:
        for client in clients:
            await client.close()
    statuses = sorted(r.status for r in results)
    assert statuses.count(401) == operators.USER_LIMIT
    assert statuses.count(429) == len(clients) - operators.USER_LIMIT


async def _fail_from(client, address: str | None, name: str):
    headers = {"X-Forwarded-For": address} if address else None
    return await client.login(name, "wrong password", headers)


async def test_forwarded_addresses_count_only_from_trusted_proxies(tmp_path: Path) -> None:
    trusted = make_config(tmp_path / "t", server={"trusted_proxies": ["127.0.0.1"]})
    untrusted = make_config(tmp_path / "u")
    results = {}
    for label, config in (("trusted", trusted), ("untrusted", untrusted)):
        seed(config)
        running = await start_bot(config)
        client = browser(running)
        try:
            # Different names, so only the per-address limit can bite.
            for n in range(operators.IP_LIMIT):
                assert (await _fail_from(client, "203.0.113.7", f"user{n}")).status == 401
            same = await _fail_from(client, "203.0.113.7", "another")
            # A forged first hop does not change who the proxy says is connecting.
            forged = await _fail_from(client, "198.51.100.1, 203.0.113.7", "another")
            other = await _fail_from(client, "203.0.113.8", "another")
            results[label] = (same.status, forged.status, other.status)
        finally:
            await client.close()
            await stop_bot(running)
    assert results["trusted"] == (429, 429, 401)
    assert results["untrusted"] == (429, 429, 429)  # the header is ignored: all from 127.0.0.1


async def test_a_viewer_cannot_act_as_an_admin(bot) -> None:
    viewer = await signed_in(bot, "li", "viewer")
    try:
        for method, path, _, role in console.ROUTES:
            if role != "admin":
                continue
            url = re.sub(r"\{id:[^/]+\}", "1", path)
            if method == "GET":
                status, page = await viewer.get(url)
            else:
                status, page, _ = await viewer.post(url, {
                    "title": "改标题", "price": "1", "stock": "1", "status": "delisted",
                    "reason": "viewer tries"})
            assert status == 403 and "管理员权限" in page, (method, url)
        status, page = await viewer.get("/admin/listings/1")
        assert status == 200 and 'id="edit-form"' not in page and "reveal-phone" not in page
    finally:
        await viewer.close()
    listing = db_call(bot.config, listing_admin.detail, 1)
    assert listing.title == "赣南脐橙 现摘现发 10斤装" and listing.status == "live"
    assert db_call(bot.config, audit.recent) == []


async def test_phones_stay_masked_and_each_reveal_is_recorded(bot) -> None:
    await bot.say(f"我想买榴莲，电话{BUYER_PHONE}", openid="buyer_phone")
    log_id = (await bot.log_rows("SELECT id FROM message_log WHERE openid = 'buyer_phone'"))[0][0]
    viewer = await signed_in(bot, "li", "viewer")
    admin = await signed_in(bot, "wang", "admin")
    pages = ["/admin/listings", "/admin/listings/1", "/admin/log", "/admin/log?q=榴莲",
             "/admin/log/user/buyer_phone", "/admin/demand", "/admin/demand.csv", "/admin"]
    try:
        for client in (viewer, admin):  # masked for everyone until an admin reveals one
            for path in pages:
                status, page = await client.get(path)
                assert status == 200, path
                assert SELLER_PHONE not in page and BUYER_PHONE not in page, path
        _, page = await viewer.get("/admin/listings/1")
        assert "139****0001" in page
        _, page = await viewer.get("/admin/log/user/buyer_phone")
        assert "138****5678" in page
        status, _, _ = await viewer.post("/admin/listings/1/reveal")
        assert status == 403
        status, page, _ = await admin.post("/admin/listings/1/reveal")
        assert status == 200 and SELLER_PHONE in page and "审计" in page
        status, page, _ = await admin.post(f"/admin/log/{log_id}/reveal")
        assert status == 200 and BUYER_PHONE in page
    finally:
        await viewer.close()
        await admin.close()
    entries = db_call(bot.config, audit.recent)
    assert [(e.operator, e.action, e.target_kind, e.client) for e in entries] == [
        ("wang", "reveal", "message", "127.0.0.1"), ("wang", "reveal", "seller", "127.0.0.1")]
    assert entries[0].target_id == str(log_id)
