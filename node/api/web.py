"""The browser app: the built bundle under ``/_kontor/web/``, the app shell at ``/app/``
and the customer chat page at ``/chat``.

Hashed file names are immutable and cached for a year; ``/_kontor/web/kontor.js`` (the
stable name apps import) and the pages are revalidated on every load.
``/_kontor/web/button.js``, the chat button that businesses load from their own
websites, is a stable name cached for five minutes and may be loaded cross-origin. Every answer
carries the page security headers (docs/web.md): a strict Content-Security-Policy, no
referrer, no sniffing, no framing.
"""

from __future__ import annotations

import json

from aiohttp import web

from node.appkeys import CONFIG, DB
from node.errors import NotFound
from node.services import webbundle
from node.services.business import profile

WEB_PREFIX = "/_kontor/web"
STABLE_NAMES = {"kontor.js": "kontor", "button.js": "button"}
BUTTON_CACHE = "public, max-age=300"  # other sites embed it: short, not revalidated each time
CSP = ("default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; "
       "img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self'; manifest-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
routes = web.RouteTableDef()


def _bundle() -> webbundle.Bundle:
    try:
        return webbundle.load()
    except webbundle.BundleMissing:
        raise NotFound(webbundle.BUILD_HINT, code="WEB_NOT_BUILT") from None


@routes.get(WEB_PREFIX + "/{name}", name="web.file")
async def web_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    bundle = _bundle()
    entry = STABLE_NAMES.get(name)
    file = bundle.entry(entry) if entry else bundle.files.get(name)
    if file is None:
        raise NotFound(f"no file {name} in the web bundle", code="UNKNOWN_FILE")
    etag = f'"{file.integrity}"'
    headers = {**SECURITY_HEADERS, "Cache-Control": REVALIDATE if entry else IMMUTABLE,
               "ETag": etag, "Vary": "Accept-Encoding"}
    if entry == "button":  # a <script> on the business's own website, another origin
        headers.update({"Cache-Control": BUTTON_CACHE,
                        "Cross-Origin-Resource-Policy": "cross-origin"})
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    body = file.body
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        body, headers["Content-Encoding"] = file.gzipped, "gzip"
    return web.Response(body=body, headers={**headers, "Content-Type": file.content_type})


@routes.get("/app", name="web.app_redirect")
async def app_redirect(request: web.Request) -> web.StreamResponse:
    raise web.HTTPPermanentRedirect("/app/")


@routes.get("/app/", name="web.app")
async def app_page(request: web.Request) -> web.Response:
    try:
        page, status = webbundle.app_page(webbundle.load()), 200
    except webbundle.BundleMissing:
        page, status = webbundle.missing_page(), 503
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8",
                        headers={**SECURITY_HEADERS, "Cache-Control": REVALIDATE})


@routes.get(webbundle.CHAT_MANIFEST, name="web.chat_manifest")
async def chat_manifest(request: web.Request) -> web.Response:
    """The chat page's web app manifest, named after the business's profile."""
    config = request.app[CONFIG]
    if not config.webchat.enabled:
        raise NotFound("the web chat is off on this node", code="WEBCHAT_DISABLED")
    name = str((await request.app[DB].read(profile.current, config)).get("name") or "Chat")
    body = json.dumps(webbundle.chat_manifest(_bundle(), name), ensure_ascii=False)
    return web.Response(text=body, content_type="application/manifest+json", charset="utf-8",
                        headers={**SECURITY_HEADERS, "Cache-Control": REVALIDATE})


@routes.get("/chat", name="web.chat")
async def chat_page(request: web.Request) -> web.Response:
    """The business's customer chat page; 404 with a plain page when [webchat] is off."""
    config = request.app[CONFIG]
    if not config.webchat.enabled:
        page, status = webbundle.chat_off_page(), 404
    else:
        try:
            page, status = webbundle.chat_page(webbundle.load(), config.business_address), 200
        except webbundle.BundleMissing:
            page, status = webbundle.missing_page(), 503
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8",
                        headers={**SECURITY_HEADERS, "Cache-Control": REVALIDATE})
