"""The chat button on a business's own website: a page served from a second loopback
origin loads /_kontor/web/button.js from the node, gets one accessible button, and the
button (by keyboard) opens the node's chat page in a popup or a new tab, never a frame."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.nodes import RunningNode, free_port, running_node, write_config

SITE_CSP = "default-src 'self'; script-src 'self' {node}"


@pytest.fixture
async def chat_node(tmp_path: Path, web_bundle: Path) -> AsyncIterator[RunningNode]:
    ini = write_config(tmp_path / "node", sections={"webchat": {"enabled": "true"}})
    async with running_node(ini) as running:
        yield running


@asynccontextmanager
async def shop_website(html: str, node: str) -> AsyncIterator[str]:
    """The business's own website on another loopback origin, with a strict CSP of its
    own that allows scripts from the node only."""
    async def page(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html",
                            headers={"Content-Security-Policy": SITE_CSP.format(node=node)})
    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


def _script(node: str, **data: str) -> str:
    attrs = "".join(f' data-{k}="{v}"' for k, v in data.items())
    return (f'<!doctype html><html lang="en"><head><title>Tea &amp; Leaf</title>'
            f'<script src="{node}/_kontor/web/button.js" defer{attrs}></script></head>'
            f'<body><h1>Tea &amp; Leaf</h1><p id="contact"></p></body></html>')


async def test_the_button_opens_the_chat_in_a_popup_by_keyboard(
        chat_node: RunningNode, browser: Any) -> None:
    node = chat_node.url
    async with shop_website(_script(node, product="SENCHA"), node) as site:
        context = await browser.new_context()
        try:
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(site)
            button = page.get_by_role("button", name=re.compile("^Chat with us"))
            await button.wait_for()
            assert await page.get_by_role("button").count() == 1
            assert await page.locator("iframe").count() == 0
            await page.keyboard.press("Tab")
            assert await button.evaluate("b => b === document.activeElement")
            async with context.expect_page() as opened:
                await page.keyboard.press("Enter")
            chat = await opened.value
            await chat.wait_for_load_state()
            assert chat.url == f"{node}/chat?product=SENCHA"
            assert await chat.evaluate("window.opener") is None
            assert errors == []
        finally:
            await context.close()


async def test_a_button_in_a_chosen_place_opens_a_new_tab(chat_node: RunningNode,
                                                         browser: Any) -> None:
    node = chat_node.url
    html = _script(node, open="tab", target="#contact", label="Fragen Sie uns")
    async with shop_website(html, node) as site:
        context = await browser.new_context()
        try:
            page = await context.new_page()
            await page.goto(site)
            button = page.locator("#contact").get_by_role(
                "button", name="Fragen Sie uns (opens a new tab)")
            await button.wait_for()
            async with context.expect_page() as opened:
                await button.click()
            chat = await opened.value
            await chat.wait_for_load_state()
            assert chat.url == f"{node}/chat"
        finally:
            await context.close()


async def test_button_js_is_a_stable_short_cached_cross_origin_script(
        chat_node: RunningNode) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(chat_node.url + "/_kontor/web/button.js") as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/javascript")
            assert r.headers["Cache-Control"] == "public, max-age=300"
            assert r.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
            body = await r.text()
        assert "document.currentScript" in body and "iframe" not in body
        async with http.get(chat_node.url + "/_kontor/web/kontor.js") as r:
            assert r.headers["Cross-Origin-Resource-Policy"] == "same-origin"
