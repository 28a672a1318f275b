"""A browser device for tests: a Playwright page on a node's /app/ driving kontor.js."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

# Helpers installed in the page (through Playwright, not by the page itself): the next
# messages from one long-lived `messages()` iterator, with a deadline.
HELPERS = """async () => {
  window.kontor = await import("/_kontor/web/kontor.js");
  window.nextMessages = async (count, ms) => {
    window.stream ??= window.me.messages();
    const got = [];
    const deadline = Date.now() + ms;
    while (got.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out: ${got.length} of ${count} messages`);
      window.pending ??= window.stream.next();
      const timer = new Promise((r) => setTimeout(() => r(null), left));
      const step = await Promise.race([window.pending, timer]);
      if (step === null) continue;
      window.pending = null;
      const m = step.value;
      got.push({messageId: m.messageId, sender: m.sender, text: m.text, type: m.type, ts: m.ts,
                content: m.content});
    }
    return got;
  };
  window.nextEvents = async (count, ms, options) => {
    window.evstream ??= window.me.events(options);
    const got = [];
    const deadline = Date.now() + ms;
    while (got.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out: ${got.length} of ${count} events`);
      window.evpending ??= window.evstream.next();
      const timer = new Promise((r) => setTimeout(() => r(null), left));
      const step = await Promise.race([window.evpending, timer]);
      if (step === null) continue;
      window.evpending = null;
      const e = step.value;
      got.push(e instanceof kontor.Receipt
        ? {receipt: e.kind, messageIds: e.messageIds, by: e.by, ts: e.ts}
        : {messageId: e.messageId, sender: e.sender, text: e.text, type: e.type, ts: e.ts,
           content: e.content});
    }
    return got;
  };
  window.sha256 = async (blob) => {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));
    return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  };
  window.pattern = (size) => {
    const out = new Uint8Array(size);
    for (let i = 0; i < size; i++) out[i] = (i * 7 + 3) % 251;
    return out;
  };
  return kontor.VERSION;
}"""


# The device's store: not /app/'s default one, which the app opens (and receives with)
# whenever it loads, so that a reload would hand the test's messages to the app instead.
STORE = "sdk"


class WebDevice:
    """One browser page of a node's app; every call runs in the page."""

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

    @classmethod
    async def open(cls, context: Any, url: str) -> WebDevice:
        device = cls(await context.new_page(), url)
        await device.load()
        return device

    async def load(self) -> None:
        """(Re)load /app/, wait for kontor.js, install the test helpers."""
        await self.page.goto(self.url + "/app/")
        await self.page.wait_for_selector("body[data-kontor=ready]", timeout=20_000)
        await self.page.evaluate(HELPERS)

    async def reload(self) -> None:
        """Reload the page (the device's keys stay in IndexedDB)."""
        await self.page.reload()
        await self.page.wait_for_selector("body[data-kontor=ready]", timeout=20_000)
        await self.page.evaluate(HELPERS)

    async def run(self, script: str, arg: Any = None) -> Any:
        """Evaluate ``async (arg) => {...}`` in the page."""
        return await self.page.evaluate(script, arg)

    async def register(self, name: str, password: str) -> str:
        return await self.run("""async ([url, name, password, store]) => {
            window.me = await kontor.Client.register(url, name, password,
                                                     {deviceName: "chromium", store});
            return window.me.address; }""", [self.url, name, password, STORE])

    async def reopen(self) -> str:
        return await self.run("""async (store) => {
            window.me = await kontor.Client.open({store}); return window.me.address;
            }""", STORE)

    async def send_text(self, to: str, text: str) -> dict[str, Any]:
        return await self.run("""async ([to, text]) => {
            const m = await window.me.sendText(to, text);
            return {messageId: m.messageId, ts: m.ts}; }""", [to, text])

    async def messages(self, count: int, timeout_ms: int = 20_000) -> list[dict[str, Any]]:
        return await self.run("([count, ms]) => window.nextMessages(count, ms)",
                              [count, timeout_ms])
