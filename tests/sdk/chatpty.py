"""``kontor chat`` as a person runs it: a child process on a pseudo-terminal."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from tests.nodes import REPO
from tests.sdk.conftest import PASSPHRASE, PASSWORD

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class PtyChat:
    """The chat's terminal: type keys, read the screen."""

    def __init__(self, proc: asyncio.subprocess.Process, master: int) -> None:
        self.proc = proc
        self.master = master
        self.raw = bytearray()
        self.seen = 0  # how much of the output ``expect`` has consumed
        self.changed = asyncio.Event()
        self.ended = False
        asyncio.get_running_loop().add_reader(master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed its side
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.master)
            self.ended = True
        self.raw += data
        self.changed.set()

    def text(self) -> str:
        """Everything shown so far, without terminal control sequences."""
        return _ANSI.sub("", self.raw.decode(errors="replace"))

    def screen_lines(self) -> list[str]:
        """The lines as a terminal shows them (a carriage return rewrites the line)."""
        return [line.rstrip("\r").rsplit("\r", 1)[-1] for line in self.text().split("\n")]

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    async def expect(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """Wait for ``pattern`` (a regular expression) in the output not yet consumed."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    found = re.compile(pattern).search(self.text(), self.seen)
                    if found:
                        self.seen = found.end()
                        return found
                    if self.ended:
                        raise AssertionError(f"chat ended before {pattern!r}:\n"
                                             f"{self.text()}")
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            raise AssertionError(f"no {pattern!r} within {timeout}s; after the last match "
                                 f"the chat showed:\n{self.text()[self.seen:]}") from None

    async def quit(self) -> int:
        self.type("/quit\r")
        return await asyncio.wait_for(self.proc.wait(), 20)


@contextlib.asynccontextmanager
async def pty_chat(server: str, user: str, store: Path, *extra: str) -> AsyncIterator[PtyChat]:
    """Start ``kontor chat`` on a new pseudo-terminal; killed at the end if still running."""
    master, slave = os.openpty()
    env = dict(os.environ, KONTOR_PASSWORD=PASSWORD, KONTOR_PASSPHRASE=PASSPHRASE,
               PYTHONUNBUFFERED="1", TERM="xterm")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "node", "chat", "--server", server, "--user", user,
        "--store", str(store), *extra, cwd=REPO, env=env, stdin=slave, stdout=slave,
        stderr=slave, start_new_session=True)
    os.close(slave)
    chat = PtyChat(proc, master)
    try:
        yield chat
    finally:
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(master)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        os.close(master)
