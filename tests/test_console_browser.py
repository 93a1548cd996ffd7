"""The operator console in a real browser: Debian's Chromium driven by Playwright."""
from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from bot.config import load_demo
from tests.conftest import Bot, free_port, start_bot, stop_bot
from tests.console import PASSWORD, add_operator, png, store_photo
from tests.test_browser import browser, demo, open_simulator, say, shot  # noqa: F401 (fixtures)


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


@pytest.fixture
async def review_demo(tmp_path: Path) -> AsyncIterator[Bot]:
    """The demo with [listings] require_review on: chat listings wait for an operator."""
    port = free_port()
    config = load_demo(env={"PORT": str(port)}, data_dir=tmp_path)
    config = replace(config, listings=replace(config.listings, require_review=True))
    running = await start_bot(config, port=port)
    yield running
    await stop_bot(running)


async def test_approve_a_pending_listing_with_its_photo(browser: Browser,
                                                        review_demo: Bot) -> None:
    demo = review_demo
    add_operator(demo.config, "wang", "admin")
    await demo.say("我想买榛子", openid="sim_alice")
    await demo.say("要", openid="sim_alice")   # waiting for 榛子
    await demo.say("我要卖榛子，二十五一斤，有500斤，黑龙江的", openid="sim_seller")
    assert "已提交审核" in await demo.say("确认", openid="sim_seller")
    await demo.say("跳过", openid="sim_seller")
    (listing_id,) = demo.db_rows("SELECT id FROM listings WHERE status = 'pending'")[0]
    store_photo(demo.config, listing_id, png(320, 240, (176, 112, 48)))
    page = await _open_console(browser, demo)
    await _sign_in(page, "wang", PASSWORD)
    await page.click("nav.console-nav >> text=审核")
    card = page.locator(f"#r{listing_id}")
    await expect(card.locator("h2")).to_contain_text("榛子")
    assert await card.locator("img.thumb").evaluate("img => img.naturalWidth") == 320
    await shot(page, "console-moderation")
    await card.locator(".approve-form button").click()
    await expect(page.locator("#verdict")).to_contain_text("已通过")
    await expect(page.locator("#verdict")).to_contain_text("1 位买家的到货提醒已发出")
    await expect(page.locator(f"#r{listing_id}")).to_have_count(0)
    await shot(page, "console-moderation-approved")
    assert demo.db_rows("SELECT status FROM listings WHERE id = ?", listing_id) == [("live",)]
    assert "榛子" in await demo.say("我想买榛子", openid="sim_bob")


async def test_an_order_from_the_simulator_is_found_in_the_console(browser: Browser,
                                                                   demo: Bot) -> None:
    add_operator(demo.config, "li", "viewer")
    add_operator(demo.config, "wang", "admin")
    chat = await open_simulator(browser, demo)
    await say(chat, "我想买蜂蜜")
    reply = chat.locator(".bubble.bot").last
    async with chat.context.expect_page() as opened:
        await reply.locator("a", has_text="下单").first.click()
    order = await opened.value
    await order.fill("#quantity", "2")
    await order.fill("#name", "李四")
    await order.fill("#phone", "13912345678")
    await order.fill("#address", "湖北省武汉市洪山区珞喻路1号")
    await order.click("button[type=submit]")
    await expect(order.locator("h1")).to_have_text("下单成功")
    number = (await order.locator(".order-no strong").inner_text()).strip()

    page = await _open_console(browser, demo)
    await _sign_in(page, "li", PASSWORD)
    await page.click("nav.console-nav >> text=订单")
    row = page.locator("#orders-table tbody tr", has_text=number)
    await expect(row).to_contain_text("¥136.00")
    await expect(row.locator(".phone")).to_have_text("139****5678")
    await shot(page, "console-orders")
    await row.locator("a.order-link").click()
    await expect(page.locator("#order-no")).to_have_text(number)
    await expect(page.locator("#order-status")).to_have_text("待确认")
    await expect(page.locator("#buyer-address")).to_contain_text("湖北省武汉市洪山区****")
    await expect(page.locator("#order-history tbody tr")).to_have_count(1)
    await expect(page.locator("#status-form")).to_have_count(0)   # a viewer reads only
    assert "13912345678" not in await page.content()
    await shot(page, "console-order")

    admin = await _open_console(browser, demo)
    await _sign_in(admin, "wang", PASSWORD)
    await admin.goto(page.url)
    await admin.select_option("#status-form select[name=to]", "confirmed")
    await admin.fill("#status-form input[name=reason]", "卖家电话确认有货")
    await shot(admin, "console-order-admin")
    await admin.click("#status-form button[type=submit]")
    await expect(admin.locator("#order-status")).to_have_text("已确认")
    await expect(admin.locator("#order-history tbody tr").last).to_contain_text("平台（wang）")
    # No API in the demo: the buyer hears of it once, from the simulator's poll for
    # pending messages or at the head of the next reply, whichever comes first.
    # (say() counts bubbles, which the poll may add to: send by hand.)
    await chat.fill("#input", "我的订单")
    await chat.click("#send")
    await expect(chat.locator(".bubble.bot", has_text="回复「订单 1」看详情")).to_have_count(1)
    await expect(chat.locator(".bubble.bot", has_text="卖家已确认")).to_have_count(1)
