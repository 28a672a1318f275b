"""Helpers of the web tests: build the bundle once, find Node.js and Chromium, and the
set-ups the browser tests share (a shop's node, team accounts, SDK devices, browser
contexts, pages watched for errors and foreign requests, the string catalogues)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.nodes import REPO, RunningNode, running_node, write_config

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def build_module() -> ModuleType:
    """web/build.py, imported from its path (it is no package of ours)."""
    spec = importlib.util.spec_from_file_location("kontor_web_build", REPO / "web" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ensure_bundle() -> Path:
    """node/web_dist, built now when this checkout has none or web/ changed since."""
    build = build_module()
    manifest = build.DIST / "manifest.json"
    folders = ("src", "app", "chat", "shared", "test")
    sources = [p for folder in folders for p in (build.WEB / folder).rglob("*")]
    sources += [build.WEB / "build.mjs", build.WEB / "package-lock.json", build.WEB / "button.js"]
    if not manifest.exists() or max(p.stat().st_mtime for p in sources) > \
            manifest.stat().st_mtime:
        build.build()
    return build.DIST


def chromium() -> str:
    """The Debian Chromium binary; skips the test without it (fails under CI=true)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        reason = "Chromium is not installed (apt-get install chromium): browser tests skipped"
        if os.environ.get("CI") == "true":
            pytest.fail(reason.replace("skipped", "required under CI=true"))
        pytest.skip(reason)
    return path


def node_and_modules() -> Path:
    """The node binary, with web/node_modules installed (npm ci) if missing."""
    build = build_module()
    if not (build.WEB / "node_modules" / ".package-lock.json").exists():
        build.build()
    return build.node_bin_dir() / "node"


# --- Set-ups the browser tests share (the inbox, the chat page, kontor.js's team calls) ---

PASSWORD = "correct horse battery"
PASSPHRASE = "a long store passphrase"
WAIT_MS = 20_000
CATALOGUE_LINE = re.compile(r'^  (\w+): "((?:[^"\\]|\\.)*)",$', re.M)


@asynccontextmanager
async def shop_node(tmp_path: Path, **sections: dict[str, Any]) -> AsyncIterator[RunningNode]:
    """A business's node (business account `shop`) in ``tmp_path/shop``; ``sections``
    add to or replace config sections (``webchat={"enabled": "true"}``)."""
    values: dict[str, dict[str, Any]] = {"business": {"account": "shop"}, **sections}
    async with running_node(write_config(tmp_path / "shop", sections=values)) as running:
        yield running


async def team_account(node: RunningNode, name: str, role: str = "agent") -> str:
    """An admin or agent account (the operator's path); its address."""
    from node.appkeys import DB
    from node.services import accounts

    address = accounts.make_address(name, node.config.node.server_name)
    await accounts.create_account(node.app[DB], address, role, PASSWORD)
    return address


class Clients:
    """Python SDK devices with their own store files, closed together at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.made: list[Any] = []

    async def __call__(self, url: str, name: str, login: bool = False) -> Any:
        """Register ``name`` on ``url`` (or log a new device in with ``login=True``)."""
        from node.client import Client

        start = Client.login if login else Client.register
        store = self.tmp_path / f"{name}-{len(self.made)}.kontor"
        self.made.append(await start(url, name, PASSWORD, passphrase=PASSPHRASE, store=store))
        return self.made[-1]

    async def close(self) -> None:
        for client in self.made:
            await client.close()


class Contexts:
    """Browser contexts of one browser, closed together at the end."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.made: list[Any] = []

    async def __call__(self, **options: Any) -> Any:
        self.made.append(await self.browser.new_context(**options))
        return self.made[-1]

    async def close(self) -> None:
        for context in self.made:
            await context.close()


class Watched:
    """A page watched for console errors and requests to any host but the node's."""

    def __init__(self, page: Any, url: str) -> None:
        self.page = page
        self.url = url
        self.console_errors: list[str] = []
        self.foreign_requests: list[str] = []
        origin = urlsplit(url).netloc
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        page.on("request", lambda r: urlsplit(r.url).scheme in ("http", "https", "ws", "wss")
                and urlsplit(r.url).netloc != origin and self.foreign_requests.append(r.url))

    def clean(self) -> None:
        assert self.console_errors == [], self.console_errors
        assert self.foreign_requests == [], self.foreign_requests


def catalogue(page: str, lang: str) -> dict[str, set[str]]:
    """web/<page>/strings/<lang>.js as {key: its {placeholders}}; every line must parse."""
    text = (REPO / "web" / page / "strings" / f"{lang}.js").read_text()
    pairs = CATALOGUE_LINE.findall(text)
    assert len(pairs) == len(re.findall(r"^  \w+:", text, re.M)), f"{page}/{lang}: a line is odd"
    return {key: set(re.findall(r"\{(\w+)\}", value)) for key, value in pairs}
