"""The node serves the bundle and the app shell with strict page security headers."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import aiohttp
import pytest

from node.api import web as web_api
from node.services import webbundle
from tests.nodes import RunningNode

SCRIPT = re.compile(r'<(?:script|link)[^>]*?(?:src|href)="(/_kontor/web/[^"]+)"[^>]*>')


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


async def test_app_shell_headers_and_integrity(web_node: RunningNode) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(web_node.url + "/app/") as resp:
            page = await resp.text()
            assert resp.status == 200
            assert resp.headers["Content-Security-Policy"] == web_api.CSP
            assert "script-src 'self' 'wasm-unsafe-eval'" in web_api.CSP
            assert "frame-ancestors 'none'" in web_api.CSP
            assert resp.headers["Referrer-Policy"] == "no-referrer"
            assert resp.headers["Cache-Control"] == "no-cache"
        assert "<style" not in page and "style=" not in page
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), "inline script in the page"
        tags = SCRIPT.findall(page)
        assert len(tags) >= 3  # style sheet, a preloaded chunk, the app module
        for tag in re.findall(r"<(?:script|link rel=\"(?:modulepreload|stylesheet)\")[^>]*>",
                              page):
            path = re.search(r'(?:src|href)="([^"]+)"', tag).group(1)
            integrity = re.search(r'integrity="([^"]+)"', tag).group(1)
            async with http.get(web_node.url + path) as resp:
                assert resp.status == 200
                assert resp.headers["Cache-Control"] == web_api.IMMUTABLE
                assert integrity == sri(await resp.read()), path


async def test_stable_kontor_js_is_revalidated(web_node: RunningNode) -> None:
    bundle = webbundle.load()
    async with aiohttp.ClientSession() as http:
        async with http.get(web_node.url + "/_kontor/web/kontor.js") as resp:
            assert resp.status == 200
            assert resp.headers["Cache-Control"] == "no-cache"
            assert resp.headers["Content-Type"].startswith("text/javascript")
            assert resp.headers["Content-Encoding"] == "gzip"
            assert await resp.read() == bundle.entry("kontor").body
            etag = resp.headers["ETag"]
        async with http.get(web_node.url + "/_kontor/web/kontor.js",
                            headers={"If-None-Match": etag}) as resp:
            assert resp.status == 304


@pytest.mark.parametrize("name", ["nope.js", "..%2Fmanifest.json", "manifest.json"])
async def test_unknown_files_are_404(web_node: RunningNode, name: str) -> None:
    async with aiohttp.ClientSession() as http, \
            http.get(web_node.url + "/_kontor/web/" + name) as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] in ("UNKNOWN_FILE", "UNKNOWN_ROUTE")


async def test_without_a_built_bundle_app_says_how_to_build(
        web_node: RunningNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webbundle, "DIST", tmp_path / "nothing-built")
    async with aiohttp.ClientSession() as http:
        async with http.get(web_node.url + "/app/") as resp:
            assert resp.status == 503
            assert "python web/build.py" in await resp.text()
            assert resp.headers["Content-Security-Policy"] == web_api.CSP
        async with http.get(web_node.url + "/_kontor/web/kontor.js") as resp:
            assert resp.status == 404
            assert (await resp.json())["error"]["code"] == "WEB_NOT_BUILT"


def test_missing_chromium_skips_outside_ci_and_fails_under_ci(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.web import helpers

    monkeypatch.setattr(helpers.shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium is not installed"):
        helpers.chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required under CI=true"):
        helpers.chromium()
