"""The plaintext of the store's sealed values, kept in memory once read or written.

Reading a secret (the upload queue, the stream position, a ratchet state) cost a SQL
lookup and an XChaCha20-Poly1305 decryption several times a message; the cache answers
them from memory. Writes made inside a local transaction are kept aside and join the
cache only when it commits, so a rolled-back change is never answered. Values are
keyed by their associated data (``s:name``, ``r:address/device``); ``None`` records
that there is none.
"""

from __future__ import annotations


class SealedCache:
    """Committed plaintexts, plus the changes of the transaction under way."""

    def __init__(self) -> None:
        self._committed: dict[str, bytes | None] = {}
        self._pending: dict[str, bytes | None] | None = None  # inside a transaction

    def lookup(self, ad: str) -> tuple[bool, bytes | None]:
        """(known here, the plaintext or None when there is no such value)."""
        if self._pending is not None and ad in self._pending:
            return True, self._pending[ad]
        if ad in self._committed:
            return True, self._committed[ad]
        return False, None

    def put(self, ad: str, value: bytes | None) -> None:
        """``value`` was written (None: deleted), or read from the file."""
        (self._committed if self._pending is None else self._pending)[ad] = value

    def begin(self) -> None:
        self._pending = {}

    def end(self, committed: bool) -> None:
        """The transaction ended: its changes join the cache only if it committed."""
        if committed and self._pending:
            self._committed.update(self._pending)
        self._pending = None

    def clear(self) -> None:
        """Rows changed behind the cache (a bulk delete), or the store closed or wiped:
        forget everything."""
        self._committed.clear()
        if self._pending is not None:
            self._pending.clear()

