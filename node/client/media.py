"""``client.media``: files end-to-end encrypted on the device, stored as ciphertext.

A file is encrypted with a fresh key (in 64 KiB chunks, ``crypto.media``), uploaded to
the sender's own node, and sent as a ``File`` content carrying the key and the
ciphertext's hash. The receiver fetches it through its own node (which fetches it from
the sender's node over federation), checks the hash and decrypts. Media must live on
its sender's server: a message cannot send the receiver's node elsewhere.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from crypto.errors import CryptoError
from crypto.media import MediaKey, decrypt_chunks, decrypt_media, encrypt_chunks, encrypt_media
from node.client.content import File
from node.client.errors import ContentError, VerificationError
from node.client.models import Message
from node.protocol.names import home_of, server_of

if TYPE_CHECKING:
    from node.client.client import Client

MAX_MEDIA = 2 * 1024 * 1024 * 1024


class Media:
    """Sending, downloading and saving encrypted files."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def send(self, to: str, data: bytes, *, name: str = "",
                   mime: str = "application/octet-stream", caption: str = "",
                   txn_id: str | None = None) -> Message:
        """Encrypt ``data`` with a fresh key, upload the ciphertext, send the key.
        ``txn_id``: as for ``Client.send`` (a retry uploads nothing again)."""
        if txn_id and (resent := await self._client.resend(txn_id)) is not None:
            return resent
        if len(data) > MAX_MEDIA:
            raise ContentError("media is limited to 2 GiB")
        ciphertext, key = encrypt_media(data)
        uploaded = await self._client.http.upload_media(ciphertext)
        return await self._send(to, uploaded["media_id"], key, name, mime, caption, txn_id)

    async def send_file(self, to: str, path: str | Path, *, name: str | None = None,
                        mime: str = "application/octet-stream", caption: str = "",
                        txn_id: str | None = None) -> Message:
        """Like ``send`` for a file of any size: read, encrypted and uploaded in 64 KiB
        chunks, never whole in memory."""
        if txn_id and (resent := await self._client.resend(txn_id)) is not None:
            return resent
        path = Path(path)
        if path.stat().st_size > MAX_MEDIA:
            raise ContentError("media is limited to 2 GiB")
        stream = encrypt_chunks(_file_chunks(path))

        async def body() -> AsyncIterator[bytes]:
            for part in stream:
                yield part

        uploaded = await self._client.http.upload_media(body())
        return await self._send(to, uploaded["media_id"], stream.media_key(),
                                name or path.name, mime, caption, txn_id)

    async def _send(self, to: str, media_id: str, key: MediaKey, name: str, mime: str,
                    caption: str, txn_id: str | None) -> Message:
        if media_id != key.media_id:
            raise VerificationError("the node stored the media under another hash")
        wire = key.to_json()
        return await self._client.send(to, File(
            media_id, home_of(self._client.address), wire["alg"], wire["key"],
            wire["sha256"], wire["size"], name, mime, caption), txn_id=txn_id)

    async def download(self, message: Message) -> bytes:
        """Fetch, check and decrypt the media a message refers to, in memory (see
        ``save`` for large files)."""
        file, key, server = self._key(message)
        data = await self._client.http.download_media(file.media_id,
                                                      limit=key.ciphertext_size, server=server)
        try:
            return decrypt_media(data, key)
        except CryptoError as exc:
            raise VerificationError(f"media does not check: {exc}") from None

    async def save(self, message: Message, path: str | Path) -> int:
        """Download, check and decrypt a message's media into the new file ``path`` in
        chunks; returns the plaintext size. Nothing is left behind when a check fails."""
        file, key, server = self._key(message)
        path = Path(path)
        encrypted = path.with_name(f".{path.name}.{secrets.token_hex(6)}.download")
        created = False
        try:
            await self._client.http.download_media_to(file.media_id, encrypted,
                                                      key.ciphertext_size, server)
            written = 0
            with open(path, "xb") as out:
                created = True
                for plain in decrypt_chunks(_file_chunks(encrypted), key):
                    out.write(plain)
                    written += len(plain)
            return written
        except BaseException as exc:
            if created:  # no partial plaintext stays behind
                path.unlink(missing_ok=True)
            if isinstance(exc, CryptoError):
                raise VerificationError(f"media does not check: {exc}") from None
            raise
        finally:
            encrypted.unlink(missing_ok=True)

    def _key(self, message: Message) -> tuple[File, MediaKey, str | None]:
        """The file, its key, and the server to fetch it from (None: ours)."""
        file = message.content
        if not isinstance(file, File):
            raise ContentError("this message carries no media")
        try:
            key = MediaKey.from_json({"alg": file.alg, "key": file.key,
                                      "sha256": file.sha256, "size": file.size})
        except CryptoError as exc:
            raise ContentError(f"bad media reference: {exc}") from None
        if key.media_id != file.media_id:
            raise VerificationError("the media id does not match the media's hash")
        home = server_of(message.sender)
        server = file.server or home
        if server != home:
            # Media lives on its sender's node; a message may not send our node elsewhere.
            raise VerificationError("the media is not on its sender's server")
        return file, key, None if server == home_of(self._client.address) else server


def _file_chunks(path: Path, size: int = 256 * 1024) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(size):
            yield chunk
