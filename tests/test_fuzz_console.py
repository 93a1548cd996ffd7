"""Fuzzing `nlp.understand` and every console form and filter under /admin.

Same rules as tests/test_fuzz.py (derandomized, a deadline, the real server on
loopback): no 500, no traceback in a page, no hang.
"""
from __future__ import annotations

import http.cookiejar
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from handlers import links
from nlp import understand
from tests.conftest import make_config, seed
from tests.console import PASSWORD, add_operator
from tests.test_fuzz import FUZZ, WEIRD_TEXT, Running, _serve

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')
CONSOLE_ALLOWED = {200, 303, 400, 401, 403, 404, 409, 413, 429}
ORDER = {"quantity": "1", "name": "张三", "phone": "13812345678",
         "address": "北京市朝阳区建国路88号3单元", "note": ""}
UNDERSTAND_SECONDS = 1.0  # one message, however long or strange, is understood in well under this


# -- nlp.understand ------------------------------------------------------------------

ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
CHINESE_ISH = st.lists(st.sampled_from(
    ["我想买", "脐橙", "土鸡蛋", "三块五", "一斤", "100斤", "确认", "取消", "不要", "的", "！", "？",
     "我要卖", "价格", "元", "0", "9" * 30, "ａｂｃ", "🍊", "\u200b", "\u202e", " ", "\n", "木耳",
     "下单", "2个", "改成", "-1", "1e309", "NaN"]), max_size=60).map("".join)
SESSIONS = st.one_of(st.just({}), st.dictionaries(
    st.sampled_from(["form", "question", "draft", "last_query", "offers", "role"]),
    st.one_of(st.none(), st.integers(), WEIRD_TEXT, st.lists(st.integers(), max_size=3),
              st.dictionaries(WEIRD_TEXT, st.integers(), max_size=2)), max_size=3))


@FUZZ
@given(text=st.one_of(ANY_TEXT, CHINESE_ISH), session=SESSIONS)
def test_understand_never_raises_and_is_quick(text: str, session: dict[str, Any]) -> None:
    started = time.monotonic()
    understanding = understand(text, session)
    assert time.monotonic() - started < UNDERSTAND_SECONDS
    assert isinstance(understanding.intent, str) and understanding.intent


@pytest.mark.parametrize("size", [10_000, 100_000])
def test_understand_a_very_long_message_in_bounded_time(size: int) -> None:
    """WeChat caps text at 2,048 bytes, but the parser must not be quadratic if it is not."""
    text = ("我想买三块五一斤的赣南脐橙100斤" * size)[:size]
    started = time.monotonic()
    understand(text, {})
    assert time.monotonic() - started < 5.0


# -- the console ---------------------------------------------------------------------

class Browser:
    """A browser-like urllib client: a cookie jar, no redirects followed."""

    def __init__(self, running: Running) -> None:
        self.running = running
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  NoRedirect)
        self.csrf = ""

    def request(self, method: str, path: str, form: dict[str, str] | None = None
                ) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.running.base + path, data=data, method=method)
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def login(self, name: str) -> None:
        status, page = self.request("GET", "/admin/login")
        token = LOGIN_TOKEN.search(page).group(1)
        status, _ = self.request("POST", "/admin/login", {"login_token": token, "name": name,
                                                          "password": PASSWORD})
        assert status == 303
        status, page = self.request("GET", "/admin/log")
        self.csrf = CSRF.search(page).group(1)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    config = make_config(tmp_path_factory.mktemp("console"), safe=False)
    seed(config)
    add_operator(config, "fuzz_admin", "admin")
    for running in _serve(config):
        for listing in (1, 2):  # orders for the status form to work on
            token = links.sign(config.server.link_secret, listing, f"buyer_{listing}",
                               int(time.time()))
            form = {"form": links.form_field(config.server.link_secret, token), **ORDER}
            assert running.post(f"/o/{token}", {}, urllib.parse.urlencode(form).encode(),
                                "application/x-www-form-urlencoded")[0] == 200
        browser = Browser(running)
        browser.login("fuzz_admin")
        yield browser


def _clean_page(status: int, page: str) -> None:
    event(f"HTTP {status}")  # --hypothesis-show-statistics shows how the input was answered
    assert status in CONSOLE_ALLOWED, (status, page[:300])
    assert "Traceback" not in page and "Exception" not in page


VALUE = st.one_of(WEIRD_TEXT, st.integers(-10**20, 10**20).map(str),
                  st.floats(allow_nan=True, allow_infinity=True).map(str),
                  st.sampled_from(["", "live", "pending", "delisted", "rejected", "paid",
                                   "shipped", "cancelled", "2026-12-01", "2026-13-45", "-1",
                                   "1.005", "八块", " 12 ", "x" * 3000]))
QUERIES = {
    "/admin": ["days"],
    "/admin/log": ["since", "until", "openid", "intent", "outcome", "q", "before"],
    "/admin/demand": ["days", "by"],
    "/admin/demand.csv": ["days", "by"],
    "/admin/listings": ["q", "status", "origin", "seller", "before"],
    "/admin/moderation": ["done", "id", "title", "told", "alerts"],
    "/admin/orders": ["status", "since", "until", "q", "before"],
    "/admin/audit": ["before"],
    "/admin/listings/1": ["saved"],
    "/admin/orders/1": ["saved"],
    "/admin/log/user/fuzz": ["before", "after", "focus"],
}


@st.composite
def console_queries(draw: st.DrawFn) -> str:
    path = draw(st.sampled_from(sorted(QUERIES)))
    names = st.one_of(st.sampled_from(QUERIES[path]), WEIRD_TEXT)
    params = draw(st.lists(st.tuples(names, VALUE), max_size=4))
    return f"{path}?{urllib.parse.urlencode(params)}"


@FUZZ
@given(path=console_queries())
def test_console_filters_and_query_strings(console: Browser, path: str) -> None:
    _clean_page(*console.request("GET", path))


FORMS = {
    "/admin/listings/{id}": ["title", "price", "stock", "status", "reason"],
    "/admin/listings/{id}/delist": ["reason"],
    "/admin/moderation/{id}/approve": ["reason"],
    "/admin/moderation/{id}/reject": ["reason"],
    "/admin/orders/{id}/status": ["to", "reason", "carrier", "tracking"],
    "/admin/orders/{id}/reveal": [],
    "/admin/listings/{id}/reveal": [],
    "/admin/log/{id}/reveal": [],
}


@FUZZ
@given(target=st.sampled_from(sorted(FORMS)), item=st.sampled_from([1, 1, 2, 2, 999_999, 2**63]),
       values=st.data(), csrf=st.sampled_from(["good", "good", "good", "missing", "wrong"]))
def test_console_forms(console: Browser, target: str, item: int, values: st.DataObject,
                       csrf: str) -> None:
    names = FORMS[target]
    form = {name: values.draw(VALUE) for name in names
            if values.draw(st.booleans())} if names else {}
    if csrf != "missing":
        form["csrf"] = console.csrf if csrf == "good" else "forged"
    before = console.running.rows("SELECT count(*), coalesce(min(stock), 0) FROM listings")
    status, page = console.request("POST", target.format(id=item), form)
    _clean_page(status, page)
    if csrf != "good":
        assert status in (403, 404)  # 404: no route for an id that long
        assert console.running.rows(
            "SELECT count(*), coalesce(min(stock), 0) FROM listings") == before
    assert console.running.rows("SELECT count(*) FROM listings WHERE stock < 0 OR price_fen < 0"
                                " OR title = ''") == [(0,)]


LOGIN_VALUE = st.one_of(WEIRD_TEXT, st.sampled_from(["fuzz_admin", PASSWORD, "", "x" * 5000]))


@FUZZ
@given(form=st.dictionaries(st.sampled_from(["name", "password", "login_token", "next"]),
                            LOGIN_VALUE, max_size=4),
       fresh_token=st.booleans())
def test_the_login_form(console: Browser, form: dict[str, str], fresh_token: bool) -> None:
    visitor = Browser(console.running)
    if fresh_token:
        _, page = visitor.request("GET", "/admin/login?" + urllib.parse.urlencode(
            {"next": form.get("next", "")}))
        form.setdefault("login_token", LOGIN_TOKEN.search(page).group(1))
    status, page = visitor.request("POST", "/admin/login", form)
    _clean_page(status, page)
    if form.get("password") != PASSWORD:
        assert status != 303
