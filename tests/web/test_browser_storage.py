"""The browser keeps its device sealed in IndexedDB, and two tabs of one device share it
without ever corrupting a ratchet."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node.client import Client
from tests.nodes import RunningNode
from tests.sdk.conftest import PASSPHRASE, PASSWORD, fast_store_kdf, receive  # noqa: F401
from tests.web.page import WebDevice

RAW_STORE = """async () => {
  const db = await new Promise((ok, no) => {
    const r = indexedDB.open("kontor:sdk"); r.onsuccess = () => ok(r.result);
    r.onerror = () => no(r.error); });
  const out = {};
  for (const name of db.objectStoreNames) {
    const rows = await new Promise((ok) => {
      const r = db.transaction(name).objectStore(name).getAll();
      r.onsuccess = () => ok(r.result); });
    out[name] = rows.map((row) => {
      if (row instanceof CryptoKey) return {cryptoKey: true, extractable: row.extractable,
                                            alg: row.algorithm.name, usages: row.usages};
      const fields = {};
      for (const [k, v] of Object.entries(row)) fields[k] = v instanceof Uint8Array ?
        {bytes: v.length, text: new TextDecoder("latin1").decode(v)} : v;
      return fields;
    });
  }
  db.close();
  return out;
}"""


@pytest.fixture
async def python_device(tmp_path: Path, web_node: RunningNode) -> AsyncIterator[Client]:
    client = await Client.register(web_node.url, "pyro", PASSWORD, passphrase=PASSPHRASE,
                                   store=tmp_path / "pyro.kontor")
    yield client
    await client.close()


async def test_everything_secret_is_sealed(web_node: RunningNode, browser: Any,
                                           python_device: Client) -> None:
    context = await browser.new_context()
    try:
        web = await WebDevice.open(context, web_node.url)
        me = await web.register("webby", PASSWORD)
        await python_device.send_text(me, "a very secret sentence")
        assert (await web.messages(1))[0]["text"] == "a very secret sentence"
        raw = await web.run(RAW_STORE)
        [wrap] = [row for row in raw["meta"] if row.get("cryptoKey")]
        assert wrap == {"cryptoKey": True, "extractable": False, "alg": "AES-GCM",
                        "usages": ["encrypt", "decrypt"]}
        for name in ("kv", "prekeys", "sessions", "messages"):
            assert raw[name], f"{name} is empty"
            for row in raw[name]:
                binary = [k for k, v in row.items() if isinstance(v, dict) and "bytes" in v]
                assert binary == ["sealed"], (name, row.keys())
        dump = repr(raw)
        for secret in ("a very secret sentence", "access_token", "ki_"):
            assert secret not in dump
    finally:
        await context.close()


async def test_two_tabs_of_one_device(web_node: RunningNode, browser: Any,
                                      python_device: Client) -> None:
    context = await browser.new_context()
    try:
        first = await WebDevice.open(context, web_node.url)
        me = await first.register("webby", PASSWORD)
        second = await WebDevice.open(context, web_node.url)
        assert await second.reopen() == me
        count = 12
        for i in range(count):
            await python_device.send_text(me, f"to both tabs {i}")
        # Both tabs receive at once; each message reaches the app once, in one of them.
        a, b = await _drain_both(first, second, count)
        texts = sorted(m["text"] for m in a + b)
        assert texts == sorted(f"to both tabs {i}" for i in range(count))
        # Both tabs send at the same time: every message decrypts on the Python side.
        await _send_both(first, second, python_device.address, 5)
        received = await receive(python_device, 10)
        assert sorted(m.text for m in received) == sorted(
            f"tab {tab} says {i}" for tab in (1, 2) for i in range(5))
        assert python_device.undecryptable == 0
        for tab in (first, second):
            assert await tab.run("() => window.me.receiver.undecryptable") == 0
            assert tab.console_errors == []
    finally:
        await context.close()


async def _drain_both(first: WebDevice, second: WebDevice, count: int
                      ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Both tabs read their streams concurrently until ``count`` messages came in all."""
    script = """async () => {
        const got = [];
        const deadline = Date.now() + 4000;
        while (Date.now() < deadline) {
            try { got.push(...await window.nextMessages(1, Math.max(1, deadline - Date.now()))); }
            catch { break; }
        }
        return got; }"""
    a, b = await asyncio.gather(first.run(script), second.run(script))
    assert len(a) + len(b) == count, (len(a), len(b))
    return a, b


async def _send_both(first: WebDevice, second: WebDevice, to: str, count: int) -> None:
    script = """async ([to, tab, count]) => {
        await Promise.all(Array.from({length: count},
                                     (_, i) => window.me.sendText(to, `tab ${tab} says ${i}`)));
    }"""
    await asyncio.gather(first.run(script, [to, 1, count]), second.run(script, [to, 2, count]))
