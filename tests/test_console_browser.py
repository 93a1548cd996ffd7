"""The operator console in a real browser: Debian's Chromium driven by Playwright."""
from __future__ import annotations

import csv
import io

from playwright.async_api import Browser, Page, expect

from tests.conftest import Bot
from tests.console import PASSWORD, add_operator
from tests.test_browser import browser, demo, shot  # noqa: F401 (fixtures)


async def _open_console(browser: Browser, demo: Bot, width: int = 1280) -> Page:
    context = await browser.new_context(viewport={"width": width, "height": 900},
                                        accept_downloads=True)
    page = await context.new_page()
    await page.goto(str(demo.server.make_url("/admin/log")))
    await expect(page.locator("h1")).to_have_text("运营后台登录")
    return page


async def _sign_in(page: Page, name: str, password: str) -> None:
    await page.fill("input[name=name]", name)
    await page.fill("input[name=password]", password)
    await page.click("form button[type=submit]")


async def test_sign_in_filter_the_log_open_a_transcript_and_export_demand(
        browser: Browser, demo: Bot) -> None:
    add_operator(demo.config, "wang", "admin")
    await demo.say("我想买脐橙", openid="sim_alice")
    await demo.say("有没有云南的榴莲，五十块以内", openid="sim_alice")
    await demo.say("我想买大米", openid="sim_bob")
    page = await _open_console(browser, demo)

    await _sign_in(page, "wang", "not the password")
    await expect(page.locator(".error-text")).to_have_text("用户名或密码不对。")
    await shot(page, "console-login-failed")
    await _sign_in(page, "wang", PASSWORD)
    await expect(page.locator("h1")).to_have_text("对话记录")  # back where the link pointed

    await page.select_option("select[name=outcome]", "no_match")
    await page.fill("input[name=q]", "榴莲")
    await page.click("#log-filters button[type=submit]")
    rows = page.locator("#log-table tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("有没有云南的榴莲")
    await shot(page, "console-log-filtered")
    await rows.first.locator("a.transcript-link").click()
    await expect(page.locator("h1")).to_have_text("用户对话")
    focus = page.locator(".turn.focus")
    await expect(focus).to_contain_text("有没有云南的榴莲")
    await expect(focus.locator(".intent")).to_have_text("search")
    await expect(focus.locator(".slots")).to_contain_text('"product": "榴莲"')
    await expect(page.locator(".turn").first.locator(".offers li")).not_to_have_count(0)
    await shot(page, "console-transcript")

    await page.click("nav.console-nav >> text=缺货需求")
    demand_row = page.locator("#demand-table tbody tr", has_text="榴莲")
    await expect(demand_row).to_contain_text("云南")
    await expect(demand_row).to_contain_text("20–50元")
    await shot(page, "console-demand")
    async with page.expect_download() as waiting:
        await page.click("#export-csv")
    download = await waiting.value
    table = list(csv.reader(io.StringIO(
        (await download.path()).read_text(encoding="utf-8-sig"))))
    assert table[1][:6] == ["榴莲", "云南", "没说在哪", "20–50元", "1", "1"]

    await page.click("nav.console-nav >> text=概览")
    await expect(page.locator("#kpi-searches")).to_have_text("3")
    await shot(page, "console-dashboard")
    await page.click("nav.console-nav >> text=商品")
    await page.fill("#listing-filters input[name=q]", "DEMO-LIU-01")
    await page.click("#listing-filters button[type=submit]")
    await expect(page.locator("#listings-table tbody tr")).to_have_count(1)
    await page.locator("#listings-table tbody tr a").first.click()
    await expect(page.locator("#seller-phone")).to_have_text("138****0001")
    await shot(page, "console-listing")
    await page.click("#reveal-phone")
    await expect(page.locator(".revealed")).to_have_text("13800000001")
    await page.click("nav.console-nav >> text=审计")
    await expect(page.locator("#audit-table tbody tr")).to_have_count(1)
    await shot(page, "console-audit")
    await page.click(".who button")
    await expect(page.locator("h1")).to_have_text("运营后台登录")


async def test_a_viewer_on_a_phone_sees_masked_phones(browser: Browser, demo: Bot) -> None:
    add_operator(demo.config, "li", "viewer")
    page = await _open_console(browser, demo, width=390)
    await _sign_in(page, "li", PASSWORD)
    await page.goto(str(demo.server.make_url("/admin/listings?q=寻乌")))
    first = page.locator("#listings-table tbody tr").first
    await expect(first.locator(".phone")).to_have_text("138****0001")
    await expect(page.locator("text=审计")).to_have_count(0)
    await shot(page, "console-listings-phone")
