"""Encrypted media blobs: stored as files named by the SHA-256 of their bytes.

The node receives ciphertext only (the client encrypts with a fresh key that travels
inside the end-to-end encrypted message), checks the size limit while streaming, and
names the blob by its hash so a client can check what it downloads.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import secrets
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.errors import InvalidParameter, NotFound, PayloadTooLarge
from node.services.accounts import Requester, now_ms
from node.storage import messages as store
from node.storage.db import Database

MEDIA_ID_RE = re.compile(r"^[A-Za-z0-9_-]{43}\Z")


@dataclass(frozen=True)
class Media:
    """The media service of a running node (built once in ``create_app``): its database,
    the data directory the blobs live under and the size limit of one blob."""

    db: Database
    data_dir: Path
    limit: int  # ``[limits] max_media_bytes``


def media_dir(data_dir: Path) -> Path:
    return data_dir / "media"


def blob_path(data_dir: Path, media_id: str) -> Path:
    if not MEDIA_ID_RE.match(media_id):
        raise InvalidParameter("not a media id", code="INVALID_MEDIA_ID")
    return media_dir(data_dir) / media_id[:2] / media_id


async def upload(m: Media, who: Requester, chunks: AsyncIterator[bytes]) -> dict[str, object]:
    """Stream ``chunks`` to disk; return the media id (hash) and size."""
    db, data_dir, limit = m.db, m.data_dir, m.limit
    folder = media_dir(data_dir)
    folder.mkdir(mode=0o700, exist_ok=True)
    tmp = folder / f".upload-{secrets.token_hex(8)}"
    digest = hashlib.sha256()
    size = 0
    try:
        with db.files():
            with open(tmp, "xb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise PayloadTooLarge(f"media larger than {limit} bytes",
                                              details={"limit": limit})
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if size == 0:
                raise InvalidParameter("empty media upload", code="EMPTY_MEDIA")
            media_id = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
            final = blob_path(data_dir, media_id)
            final.parent.mkdir(mode=0o700, exist_ok=True)
            os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    await db.write(store.record_media_txn, media_id, size, who.address, now_ms())
    return {"media_id": media_id, "size": size}


async def locate(m: Media, media_id: str) -> Path:
    """The file of a stored blob; NotFound otherwise."""
    path = blob_path(m.data_dir, media_id)
    if await m.db.read(store.get_media, media_id) is None or not path.exists():
        raise NotFound("no such media", code="UNKNOWN_MEDIA")
    return path


FETCH_SLOTS = 4  # remote blobs fetched at once, node-wide
FETCH_DEADLINE_SECONDS = 900.0
_fetching: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                     tuple[asyncio.Semaphore, dict[str, asyncio.Lock]]] = \
    weakref.WeakKeyDictionary()


def _fetch_state() -> tuple[asyncio.Semaphore, dict[str, asyncio.Lock]]:
    """This event loop's fetch slots and per-media locks."""
    loop = asyncio.get_running_loop()
    if loop not in _fetching:
        _fetching[loop] = (asyncio.Semaphore(FETCH_SLOTS), {})
    return _fetching[loop]


async def fetch_remote(m: Media, client: Any, server: str, media_id: str) -> Path:
    """A blob stored on ``server``: fetched over federation once (concurrent requests for
    it wait for that one fetch), checked against its content address (the id is the
    SHA-256 of the bytes), kept here as a copy."""
    path = blob_path(m.data_dir, media_id)
    slots, locks = _fetch_state()
    lock = locks.setdefault(media_id, asyncio.Lock())
    try:
        async with lock:
            if await m.db.read(store.get_media, media_id) is not None and path.exists():
                return path
            async with slots:
                return await asyncio.wait_for(_fetch(m, client, server, media_id, path),
                                              FETCH_DEADLINE_SECONDS)
    except TimeoutError:
        raise NotFound(f"{server} did not deliver the media in time",
                       code="UNKNOWN_MEDIA") from None
    finally:
        if not lock.locked():
            locks.pop(media_id, None)


async def _fetch(m: Media, client: Any, server: str, media_id: str, path: Path) -> Path:
    db = m.db
    folder = media_dir(m.data_dir)
    folder.mkdir(mode=0o700, exist_ok=True)
    tmp = folder / f".fetch-{secrets.token_hex(8)}"
    try:
        with db.files():
            size = await client.fetch_media(server, media_id, tmp, m.limit)
        digest = hashlib.sha256()
        with open(tmp, "rb") as fh:
            for chunk in iter(lambda: fh.read(256 * 1024), b""):
                digest.update(chunk)
        got = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
        if not secrets.compare_digest(got, media_id):
            raise NotFound(f"{server} answered other bytes for this media",
                           code="UNKNOWN_MEDIA")
        path.parent.mkdir(mode=0o700, exist_ok=True)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    await db.write(store.record_media_txn, media_id, size, f"@{server}", now_ms())
    return path
