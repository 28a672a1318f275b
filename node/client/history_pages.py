"""Reading the sealed history: the download after approval, and pages on demand.

Once approved, a device downloads its owner's sealed copies from its node, newest
first, ``PAGE`` a request (docs/protocol.md, "History"). Each page's messages and the
cursor of the page after it are written to the local store in one transaction
(``DOWNLOAD``), so a download that is interrupted (the app closed or killed, the node
unreachable) resumes at the page where it stopped, and a message already stored (by
id) is never stored twice.

``page(peer, before, limit)`` serves an app that pages back through one conversation
with a keyset cursor (``"<ts>.<message id>"``, the same order as the node's): the local
store first and, where that runs out, the node's copies of that conversation, which are
opened, checked and stored too, so the app need not wait for the whole download.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crypto import history as sealing
from crypto.canonicaljson import encode_canonical, loads_strict
from crypto.encoding import b64decode
from crypto.errors import CryptoError
from node.client import content as contents
from node.client.errors import ApiError, ClientError, ContentError
from node.client.models import HistoryPage, message_from_row, parse_cursor

if TYPE_CHECKING:
    from node.client.history import Archive

log = logging.getLogger("kontor.client.history")

DOWNLOAD = "history_download"  # {"next": cursor or None, "pages", "added", "done"}
PAGE = 200
MAX_LIMIT = 200


class Reader:
    """The reading half of ``client.archive`` (``archive.reader``)."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.store = archive.store
        #: Called after each downloaded page with (pages so far, messages added so far),
        #: to show progress ("downloading history: 1,400 messages").
        self.progress: Callable[[int, int], None] | None = None

    def begin(self) -> None:
        """This device was just approved: a download is due (kept in the store)."""
        if self.store.get_json(DOWNLOAD) is None:
            self.store.put_json(DOWNLOAD, _fresh())

    def due(self) -> bool:
        """Whether a download was begun and has not reached the oldest copy yet."""
        state = self.store.get_json(DOWNLOAD)
        return isinstance(state, dict) and not state.get("done")

    def cursor(self) -> str | None:
        """Where an unfinished download goes on (None: at the newest copy)."""
        state = self.store.get_json(DOWNLOAD)
        return state.get("next") if isinstance(state, dict) else None

    async def download(self, *, max_pages: int = 1000) -> int:
        """Fetch the owner's sealed history page by page, newest first, from where an
        earlier download stopped (or, once one finished, afresh), open it and add it to
        the local history; returns how many messages were new. ``ApiError``
        ``NOT_APPROVED`` before a device approved this one."""
        state = self.store.get_json(DOWNLOAD)
        if not isinstance(state, dict) or state.get("done"):
            state = _fresh()
        added = 0
        for _ in range(max_pages):
            page = await self._fetch(None, state["next"], PAGE)
            with self.store.batch():  # the page and the cursor after it, together
                new = self._open_all(page["items"])
                state = {"next": page.get("next"), "pages": state["pages"] + 1,
                         "added": state["added"] + new, "done": page.get("next") is None}
                self.store.put_json(DOWNLOAD, state)
            added += new
            if self.progress is not None:
                self.progress(state["pages"], state["added"])
            if state["done"]:
                break
        return added

    async def page(self, peer: str, before: str | None, limit: int) -> HistoryPage:
        """Up to ``limit`` messages with ``peer`` before the cursor ``before`` (None:
        the newest), oldest first; from the node's sealed copies where the local store
        has none older. ``next`` is None once the conversation's start is reached."""
        if not 0 < limit <= MAX_LIMIT:
            raise ValueError(f"limit is 1 to {MAX_LIMIT}")
        cursor = parse_cursor(before) if before is not None else None
        rows = self.store.history(peer, limit, cursor)
        if len(rows) < limit and self.archive.keys():
            edge = (rows[0]["ts"], rows[0]["message_id"]) if rows else cursor
            try:
                got = await self._fetch(peer, None if edge is None else f"{edge[0]}.{edge[1]}",
                                        limit - len(rows))
            except ApiError as err:
                if err.code != "NOT_APPROVED":
                    raise
            else:
                with self.store.batch():
                    self._open_all(got["items"])
                rows = self.store.history(peer, limit, cursor)
        messages = [message_from_row(row) for row in rows]
        last = messages[0] if len(messages) == limit else None
        return HistoryPage(messages, None if last is None else f"{last.ts}.{last.message_id}")

    async def _fetch(self, peer: str | None, before: str | None,
                     limit: int) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if peer is not None:
            params["conversation"] = peer
        if before is not None:
            params["before"] = before
        page: dict[str, Any] = await self.archive.client.http.request(
            "GET", "/history/items", params=params)
        return page

    def _open_all(self, items: list[dict[str, Any]]) -> int:
        keys, owner = self.archive.keys(), self.archive.owner
        return sum(self._open_item(owner, keys, item) for item in items)

    def _open_item(self, owner: str, keys: dict[int, bytes], item: dict[str, Any]) -> int:
        try:
            sealed = b64decode(item["sealed"])
            key = keys.get(sealing.epoch_of(sealed))
            if key is None:
                raise ContentError(f"no key for epoch {sealing.epoch_of(sealed)}")
            record = loads_strict(sealing.open_sealed(key, owner, item["item_id"],
                                                      item["conversation"], item["ts"],
                                                      sealed))
            content = record["content"]
            _, claimed_from, claimed_to = contents.decode(  # refuses invalid content
                sealing.pad(encode_canonical(content)))
            if record["message_id"] != item["item_id"] or record["peer"] != \
                    item["conversation"] or record["ts"] != item["ts"] or \
                    (claimed_from, claimed_to) != (record["sender"], record["to"]):
                raise ContentError("the copy names another message")
        except (CryptoError, ClientError, KeyError, TypeError, ValueError) as exc:
            log.warning("dropped history copy %s: %s", item.get("item_id"), exc)
            return 0
        return int(self.store.add_message(record["message_id"], record["peer"],
                                          record["sender"], record["sender_device"],
                                          bool(record["outgoing"]), record["ts"], content))


def _fresh() -> dict[str, Any]:
    return {"next": None, "pages": 0, "added": 0, "done": False}
