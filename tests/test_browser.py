"""The simulator in a real browser: Debian's Chromium driven by Playwright."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from bot.config import load_demo
from tests.conftest import Bot, free_port, start_bot, stop_bot

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As root Chromium needs --no-sandbox; the rest keep it off this machine's closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Bot]:
    port = free_port()  # known up front, so ordering links point at this server
    running = await start_bot(load_demo(env={"PORT": str(port)}, data_dir=tmp_path), port=port)
    yield running
    await stop_bot(running)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def open_simulator(browser: Browser, demo: Bot) -> Page:
    page = await browser.new_page(viewport={"width": 480, "height": 820})
    await page.goto(str(demo.server.make_url("/simulator")))
    await expect(page.locator(".bubble.bot").first).to_contain_text("欢迎")
    return page


async def say(page: Page, text: str) -> None:
    replies = await page.locator(".bubble.bot").count()
    await page.fill("#input", text)
    await page.click("#send")
    await expect(page.locator(".bubble.bot")).to_have_count(replies + 1)


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_a_cjk_font_is_installed() -> None:
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=True)
    assert fonts.stdout.strip(), "no CJK font: install fonts-wqy-zenhei"


async def test_oranges_with_links_and_the_order_page(browser: Browser, demo: Bot) -> None:
    page = await open_simulator(browser, demo)
    await say(page, "我想买脐橙")
    reply = page.locator(".bubble.bot").last
    await expect(reply).to_contain_text("脐橙")
    links = reply.locator("a", has_text="下单")
    assert await links.count() >= 3
    await shot(page, "simulator-oranges")
    first_line = (await reply.inner_text()).split("\n")
    title = next(line for line in first_line if line.startswith("1. "))[3:]
    async with page.context.expect_page() as opened:
        await links.first.click()
    order = await opened.value
    await expect(order.locator("h1")).to_have_text(title)
    await shot(order, "order-page")


async def test_durian_gets_an_honest_none(browser: Browser, demo: Bot) -> None:
    page = await open_simulator(browser, demo)
    await say(page, "我想买榴莲")
    reply = page.locator(".bubble.bot").last
    await expect(reply).to_contain_text("没有找到「榴莲」")
    assert await reply.locator("a").count() == 0
    await shot(page, "simulator-durian")


async def test_help_menu_button(browser: Browser, demo: Bot) -> None:
    page = await open_simulator(browser, demo)
    await page.click(".menu button[data-key=HELP]")
    await expect(page.locator(".bubble.bot").last).to_contain_text("怎么用农货通")
    await shot(page, "simulator-help")


async def test_switching_user_shows_a_separate_conversation(browser: Browser, demo: Bot) -> None:
    page = await open_simulator(browser, demo)
    await say(page, "我想买木耳")
    await page.select_option("#user-select", "sim_bob")
    await expect(page.locator(".bubble.bot")).to_have_count(1)  # bob's own welcome
    await expect(page.locator(".bubble.user")).to_have_count(0)
    await shot(page, "simulator-second-user")
    await page.select_option("#user-select", "sim_alice")
    await expect(page.locator(".bubble.user")).to_have_text(["我想买木耳"])
    assert await demo.log_rows("SELECT DISTINCT openid FROM message_log ORDER BY openid") == [
        ("sim_alice",), ("sim_bob",)]


async def test_voice_with_and_without_recognition(browser: Browser, demo: Bot) -> None:
    page = await open_simulator(browser, demo)
    await page.click("#voice-toggle")
    await page.click("#voice-examples button >> nth=0")
    await page.click("#voice-send")
    await expect(page.locator(".bubble.bot").nth(1)).to_contain_text("脐橙")
    await page.click("#voice-empty")
    await expect(page.locator(".bubble.bot").nth(2)).to_contain_text("请打字告诉我")
    await shot(page, "simulator-voice")


def _netns_available() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


@pytest.fixture
def netns() -> AsyncIterator[tuple[str, str, str]]:
    """A network namespace joined by a veth pair: a client that is not loopback."""
    if not _netns_available():
        if os.environ.get("CI"):
            pytest.fail("CI must run the remote-client test: it needs root and iproute2")
        pytest.skip("needs root and iproute2 for a network namespace")
    name, host_if, peer_if = f"nhsim{os.getpid()}", f"nhh{os.getpid() % 10000}", f"nhp{os.getpid() % 10000}"
    host_ip, peer_ip = "10.213.71.1", "10.213.71.2"
    commands = [
        ["ip", "netns", "add", name],
        ["ip", "link", "add", host_if, "type", "veth", "peer", "name", peer_if],
        ["ip", "link", "set", peer_if, "netns", name],
        ["ip", "addr", "add", f"{host_ip}/30", "dev", host_if],
        ["ip", "link", "set", host_if, "up"],
        ["ip", "netns", "exec", name, "ip", "addr", "add", f"{peer_ip}/30", "dev", peer_if],
        ["ip", "netns", "exec", name, "ip", "link", "set", peer_if, "up"],
    ]
    try:
        for command in commands:
            subprocess.run(command, check=True, capture_output=True)
        yield name, host_ip, peer_ip
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


async def test_a_remote_client_is_refused_unless_allowed(netns, tmp_path: Path) -> None:
    import asyncio
    from dataclasses import replace

    from aiohttp.test_utils import TestServer

    from bot.server import create_app

    name, host_ip, _ = netns
    results = {}
    for allow in (False, True):
        config = load_demo(env={}, data_dir=tmp_path)
        config = replace(config, simulator=replace(config.simulator, allow_remote=allow))
        server = TestServer(create_app(config), host=host_ip)
        await server.start_server()
        try:
            fetch = ("import urllib.request, urllib.error, sys\n"
                     "try:\n    r = urllib.request.urlopen(sys.argv[1], timeout=10); print(r.status)\n"
                     "except urllib.error.HTTPError as e:\n    print(e.code)\n")
            process = await asyncio.create_subprocess_exec(
                "ip", "netns", "exec", name, sys.executable, "-c", fetch,
                str(server.make_url("/simulator")), stdout=asyncio.subprocess.PIPE)
            out, _ = await process.communicate()
            results[allow] = out.decode().strip()
        finally:
            await server.close()
    assert results == {False: "403", True: "200"}


async def test_an_order_placed_from_the_simulator(browser: Browser, demo: Bot) -> None:
    page = await open_simulator(browser, demo)
    await say(page, "我想买蜂蜜")
    reply = page.locator(".bubble.bot").last
    await expect(reply).to_contain_text("神农架土蜂蜜")
    async with page.context.expect_page() as opened:
        await reply.locator("a", has_text="下单").first.click()
    order = await opened.value
    await expect(order.locator("h1")).to_have_text("神农架土蜂蜜 百花蜜 1斤")
    await expect(order.locator("#total")).to_have_text("¥68.00")
    await order.fill("#quantity", "3")
    await expect(order.locator("#total")).to_have_text("¥204.00")  # the live total
    await order.fill("#name", "李四")
    await order.fill("#phone", "1391234")  # too short: the server says so, values kept
    await order.fill("#address", "湖北省武汉市洪山区珞喻路1号")
    await order.click("button[type=submit]")
    await expect(order.locator("#phone-error")).to_contain_text("11位手机号")
    await expect(order.locator("#address")).to_have_value("湖北省武汉市洪山区珞喻路1号")
    await shot(order, "order-form-error")
    await order.fill("#phone", "139 1234 5678")
    await order.click("button[type=submit]")
    await expect(order.locator("h1")).to_have_text("下单成功")
    number = (await order.locator(".order-no strong").inner_text()).strip()
    await expect(order.locator(".notified")).to_contain_text("还没有开通微信通知")
    await shot(order, "order-placed")
    await say(page, "我的订单")
    await expect(page.locator(".bubble.bot").last).to_contain_text(f"{number} 待确认")
    assert demo.db_rows("SELECT quantity, phone, status FROM orders") == [
        (3, "13912345678", "placed")]
