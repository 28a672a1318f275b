"""``kontor chat`` as a user runs it: a real child process talking to a real node."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from node.client import Message
from tests.nodes import REPO, RunningNode
from tests.sdk.conftest import PASSPHRASE, PASSWORD, MakeClient, receive


async def read_until(stream: asyncio.StreamReader, needle: str, timeout: float = 20) -> str:
    """Output lines up to the one containing ``needle``."""
    seen = []
    async with asyncio.timeout(timeout):
        while True:
            line = (await stream.readline()).decode()
            if not line:
                raise AssertionError(f"chat ended before {needle!r}: {''.join(seen)}")
            seen.append(line)
            if needle in line:
                return "".join(seen)


async def test_chat_sends_lists_and_shows_arrivals_live(
        tmp_path: Path, node: RunningNode, make_client: MakeClient) -> None:
    bob = await make_client("bob")
    env = dict(os.environ, KONTOR_PASSWORD=PASSWORD, KONTOR_PASSPHRASE=PASSPHRASE,
               PYTHONUNBUFFERED="1")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "node", "chat", "--server", node.url, "--user", "carl",
        "--register", "--store", str(tmp_path / "carl.store"), cwd=REPO, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        await read_until(proc.stdout, "logged in as carl@")
        proc.stdin.write(f"hello before opening\n/open {bob.address}\n".encode())
        await read_until(proc.stdout, f"conversation with {bob.address}")
        proc.stdin.write(b"Do you have the blue teapot?\n")
        await read_until(proc.stdout, "you: Do you have the blue teapot?")
        [got] = await receive(bob, 1)
        assert isinstance(got, Message) and got.text == "Do you have the blue teapot?"
        await bob.send_text(got.sender, "Yes, 3 left")
        await read_until(proc.stdout, f"{bob.address}: Yes, 3 left")  # pushed live
        proc.stdin.write(b"/list\n")
        await read_until(proc.stdout, "2 messages")
        proc.stdin.write(b"/quit\n")
        await proc.stdin.drain()
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_chat_with_a_wrong_password_says_what_to_do(
        tmp_path: Path, node: RunningNode) -> None:
    env = dict(os.environ, KONTOR_PASSWORD="wrong password!", KONTOR_PASSPHRASE=PASSPHRASE)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "node", "chat", "--server", node.url, "--user", "nobody",
        "--store", str(tmp_path / "x.store"), cwd=REPO, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1
    assert b"INVALID_CREDENTIALS" in out and b"--register" in out
    assert b"Traceback" not in out
