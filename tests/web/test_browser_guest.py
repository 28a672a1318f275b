"""kontor.js's guest accounts in Debian's Chromium against a real node: the proof of work
with WebCrypto (the same nonce as the node's Python solver, in chunks that yield), a
guest that writes, sets a password and logs in on another browser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node.client import Client
from node.services import guest_challenge as pow_
from tests.nodes import RunningNode, running_node, write_config
from tests.sdk.conftest import PASSPHRASE, PASSWORD, fast_store_kdf, receive  # noqa: F401
from tests.web.page import WebDevice

GUEST_PATTERN = r"^guest-[a-z2-7]{12}@"


@pytest.fixture
async def chat_node(tmp_path: Path, web_bundle: Path) -> AsyncIterator[RunningNode]:
    """A node with the web chat on at its default difficulty, and open registration for
    the Python customer the guest writes to."""
    ini = write_config(tmp_path / "node", sections={
        "webchat": {"enabled": "true"}, "accounts": {"registration": "open"}})
    async with running_node(ini) as running:
        yield running


async def test_the_browser_solver_finds_the_nodes_nonce_and_yields_between_chunks(
        chat_node: RunningNode, browser: Any) -> None:
    challenge = bytes([1]) * 42  # the first proof for 12 bits is counter 5095 (Python)
    expected = pow_.solve(challenge, 12)
    assert int.from_bytes(expected, "big") > 16 * 8
    context = await browser.new_context()
    try:
        web = await WebDevice.open(context, chat_node.url)
        result = await web.run("""async (hex) => {
            const challenge = Uint8Array.from(hex.match(/../g), (h) => parseInt(h, 16));
            let ticks = 0, chunks = 0, sawTickBetween = false;
            const timer = setInterval(() => { ticks += 1; }, 0);
            const nonce = await kontor.solveChallenge(challenge, 12, {chunk: 16,
                onProgress: () => { chunks += 1; sawTickBetween ||= ticks > 0; }});
            clearInterval(timer);
            return {nonce: Array.from(nonce), chunks, sawTickBetween,
                    zeros: kontor.leadingZeroBits(new Uint8Array([0, 0, 0x10]))}; }""",
                               challenge.hex())
        assert bytes(result["nonce"]) == expected
        assert result["chunks"] == int.from_bytes(expected, "big") // 16
        assert result["sawTickBetween"] and result["zeros"] == 19
        with pytest.raises(Exception, match="impossible proof of work"):
            await web.run("() => kontor.solveChallenge(new Uint8Array(42), 40)")
        assert web.console_errors == []
    finally:
        await context.close()


async def test_a_guest_writes_sets_a_password_and_signs_in_on_another_browser(
        chat_node: RunningNode, browser: Any, tmp_path: Path) -> None:
    carl = await Client.register(chat_node.url, "carl", PASSWORD, passphrase=PASSPHRASE,
                                 store=tmp_path / "carl.kontor")
    first, second = await browser.new_context(), await browser.new_context()
    try:
        web = await WebDevice.open(first, chat_node.url)
        guest = await web.run("""async (url) => {
            let progress = 0;
            const started = performance.now();
            window.me = await kontor.registerGuest(url, {deviceName: "Chromium",
                onProgress: () => { progress += 1; }});
            const status = await kontor.guestStatus(window.me);
            return {address: window.me.address, role: window.me.role, status,
                    ms: performance.now() - started}; }""", chat_node.url)
        print(f"guest created with the default proof of work in {guest['ms']:.0f} ms")
        assert guest["address"].startswith("guest-") and guest["role"] == "customer"
        assert guest["status"] == {"guest": True, "hasPassword": False}
        await web.send_text(carl.address, "Hello from a guest")
        [got] = await receive(carl, 1)
        assert (got.sender, got.text) == (guest["address"], "Hello from a guest")
        status = await web.run("""async () => {
            await kontor.setPassword(window.me, "my chat password");
            return kontor.guestStatus(window.me); }""")
        assert status == {"guest": True, "hasPassword": True}
        code = await web.run("""async () => {
            try { await kontor.setPassword(window.me, "another password"); return null; }
            catch (err) { return err.code; } }""")
        assert code == "INVALID_CREDENTIALS"
        other = await WebDevice.open(second, chat_node.url)
        address = await other.run("""async ([url, address]) => {
            window.me = await kontor.Client.login(url, address, "my chat password");
            return window.me.address; }""", [chat_node.url, guest["address"]])
        assert address == guest["address"]
        await other.send_text(carl.address, "and from my phone")
        [got] = await receive(carl, 1)
        assert (got.sender, got.text) == (guest["address"], "and from my phone")
        # the refused password change is the one error the browser logs
        assert [e for e in web.console_errors if "401" not in e] == []
        assert other.console_errors == []
        assert web.foreign_requests == [] and other.foreign_requests == []
    finally:
        await first.close()
        await second.close()
        await carl.close()


async def test_a_limited_guest_sees_the_nodes_code(tmp_path: Path, web_bundle: Path,
                                                 browser: Any) -> None:
    ini = write_config(tmp_path / "node", sections={"webchat": {
        "enabled": "true", "pow_difficulty": 8, "guests_per_address_hour": 1}})
    async with running_node(ini) as node:
        contexts = [await browser.new_context() for _ in range(2)]
        try:
            answers = []
            for context in contexts:
                web = await WebDevice.open(context, node.url)
                answers.append(await web.run("""async (url) => {
                    try { const me = await kontor.registerGuest(url); return me.address; }
                    catch (err) { return [err.status, err.code, err.details.scope]; } }""",
                                             node.url))
            assert str(answers[0]).startswith("guest-")
            assert answers[1] == [429, "GUEST_LIMIT", "hour"]
        finally:
            for context in contexts:
                await context.close()

