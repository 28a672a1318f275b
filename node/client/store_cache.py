"""The plaintext of the store's sealed values, kept in memory once read or written.

Reading a secret (the upload queue, the stream position, a ratchet state) cost a SQL
lookup and an XChaCha20-Poly1305 decryption several times a message; the cache answers
them from memory. Writes made inside a local transaction are kept aside and join the
cache only when it commits, so a rolled-back change is never answered. Another
connection's commit to the file (a second process on the same store, such as ``kontor
customer erase`` while the node's automation device runs) changes SQLite's
``data_version``; ``check`` then forgets everything, so nothing it changed is answered
from memory. Values are keyed by their associated data (``s:name``,
``r:address/device``); a value that does not exist is not kept.

A ratchet session saved by this process is also kept as the object that wrote it, so
the next message does not parse its state again: ``take`` hands it over only while the
stored state is still the one it wrote (not after a rollback), and only once. The
caller advances it and saves it, or drops it: an object advanced by a message that
then failed is never used again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class SealedCache:
    """Committed plaintexts, plus the changes of the transaction under way."""

    def __init__(self, data_version: Callable[[], int]) -> None:
        self._data_version = data_version
        self._version = data_version()
        self._committed: dict[str, bytes] = {}
        self._pending: dict[str, bytes | None] | None = None  # inside a transaction
        self._objects: dict[str, tuple[bytes, Any]] = {}  # ad -> (state, what wrote it)

    def check(self) -> None:
        """Outside a transaction, and as one begins: forget everything when another
        connection has committed to the file since the last look."""
        version = self._data_version()
        if version != self._version:
            self.clear()
            self._version = version

    def lookup(self, ad: str) -> tuple[bool, bytes | None]:
        """(known here, the plaintext or None when it was deleted in this transaction)."""
        if self._pending is not None and ad in self._pending:
            return True, self._pending[ad]
        if ad in self._committed:
            return True, self._committed[ad]
        return False, None

    def put(self, ad: str, value: bytes | None) -> None:
        """``value`` was written (None: deleted), or read from the file."""
        if self._pending is not None:
            self._pending[ad] = value
        elif value is None:
            self._committed.pop(ad, None)
        else:
            self._committed[ad] = value

    def keep(self, ad: str, state: bytes, obj: Any) -> None:
        """``obj`` just wrote ``state`` under ``ad``."""
        self._objects[ad] = (state, obj)

    def take(self, ad: str, state: bytes) -> Any | None:
        """The object that wrote ``state``, if it did (then it is no longer kept)."""
        kept = self._objects.pop(ad, None)
        return kept[1] if kept is not None and kept[0] == state else None

    def begin(self) -> None:
        self.check()
        self._pending = {}

    def end(self, committed: bool) -> None:
        """The transaction ended: its changes join the cache only if it committed."""
        pending, self._pending = self._pending or {}, None
        if committed:
            for ad, value in pending.items():
                self.put(ad, value)

    def clear(self) -> None:
        """Rows changed behind the cache (a bulk delete, another connection), or the
        store closed or wiped: forget everything."""
        self._committed.clear()
        self._objects.clear()
        if self._pending is not None:
            self._pending.clear()
