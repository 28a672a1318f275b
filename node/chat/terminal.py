"""The terminal of ``kontor chat``: an input line kept apart from what arrives.

On a terminal the line being typed stays at the bottom: the terminal's own echo and line
editing are turned off (termios), keys are read as they come, and every line of output
is written above the input line, which is then drawn again with what was typed so far.
Editing keys: Backspace, Ctrl-U (clear the line), Enter; Ctrl-C quits, Ctrl-D on an
empty line ends the input; other control keys and escape sequences (arrows) are
ignored. When standard input is not a terminal (a pipe, a script), lines are read as
they come and output is printed as it is.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import re
import sys
import threading
from typing import IO, Any

MAX_LINE = 16 * 1024
_ESCAPE_END = re.compile(r"[A-Za-z~]")


class LineEditor:
    """The keys typed so far into complete lines (pure: no I/O)."""

    def __init__(self) -> None:
        self.buffer = ""
        self._escape = False

    def feed(self, text: str) -> list[str | None]:
        """Apply keys; the lines completed (None for the end of input)."""
        done: list[str | None] = []
        for char in text:
            if self._escape:
                self._escape = not (_ESCAPE_END.match(char) and char != "[")
                continue
            if char == "\x1b":
                self._escape = True
            elif char in "\r\n":
                done.append(self.buffer)
                self.buffer = ""
            elif char in "\x7f\x08":
                self.buffer = self.buffer[:-1]
            elif char == "\x15":
                self.buffer = ""
            elif char == "\x03":
                done.append("/quit")
            elif char == "\x04":
                if not self.buffer:
                    done.append(None)
            elif char >= " " and len(self.buffer) < MAX_LINE:
                self.buffer += char
        return done


class Terminal:
    """Lines typed (``lines``) and lines shown (``say``), on a terminal or a pipe."""

    def __init__(self, stdin: IO[Any] | None = None, stdout: IO[str] | None = None,
                 prompt: str = "> ") -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.prompt = prompt
        self.lines: asyncio.Queue[str | None] = asyncio.Queue()
        self.editor = LineEditor()
        self.interactive = _isatty(self.stdin)
        self._saved: Any = None

    def start(self) -> None:
        """Begin reading input (call from the running event loop)."""
        if self.interactive:
            self._start_keys()
        else:
            self._start_lines()

    def say(self, text: str) -> None:
        """Show a line (or several) above the input line."""
        if not self.interactive:
            print(text, flush=True)
            return
        self.stdout.write("\r\x1b[K" + text.replace("\n", "\r\n") + "\r\n")
        self._draw()

    def close(self) -> None:
        """Give the terminal back as it was."""
        if self._saved is not None:
            import termios

            with contextlib.suppress(OSError, ValueError):
                asyncio.get_running_loop().remove_reader(self.stdin.fileno())
            with contextlib.suppress(termios.error, OSError, ValueError):
                termios.tcsetattr(self.stdin.fileno(), termios.TCSADRAIN, self._saved)
                self.stdout.write("\r\n")
                self.stdout.flush()
            self._saved = None

    def _draw(self) -> None:
        self.stdout.write("\r\x1b[K" + self.prompt + self.editor.buffer)
        self.stdout.flush()

    def _start_keys(self) -> None:
        import termios

        fd = self.stdin.fileno()
        self._saved = termios.tcgetattr(fd)
        mode = termios.tcgetattr(fd)
        mode[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN)
        mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
        termios.tcsetattr(fd, termios.TCSADRAIN, mode)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        loop = asyncio.get_running_loop()

        def readable() -> None:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(fd)
                self.lines.put_nowait(None)
                return
            for line in self.editor.feed(decoder.decode(data)):
                self.lines.put_nowait(line)
            self._draw()

        loop.add_reader(fd, readable)
        self._draw()

    def _start_lines(self) -> None:
        loop = asyncio.get_running_loop()
        stdin = self.stdin

        def pump() -> None:
            for line in stdin:
                loop.call_soon_threadsafe(self.lines.put_nowait, line.rstrip("\r\n"))
            loop.call_soon_threadsafe(self.lines.put_nowait, None)

        threading.Thread(target=pump, name="stdin", daemon=True).start()  # ends with us


def _isatty(stream: IO[Any]) -> bool:
    try:
        return stream.isatty() and os.name == "posix"
    except (AttributeError, ValueError):
        return False
