"""Encrypted media upload and download, hashed and size-limited."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import aiohttp

from tests.api.helpers import PREFIX, register
from tests.nodes import running_node, write_config


async def test_upload_download_and_limits(tmp_path: Path) -> None:
    ini = write_config(tmp_path / "n", sections={
        "accounts": {"registration": "open"}, "limits": {"max_media_bytes": 300_000}})
    async with running_node(ini) as node, aiohttp.ClientSession() as http:
        anna = await register(http, node.url, "anna")
        bob = await register(http, node.url, "bob")
        auth = {"Authorization": f"Bearer {anna['access_token']}",
                "Content-Type": "application/octet-stream"}
        blob = os.urandom(200_000)
        async with http.post(node.url + PREFIX + "/media", data=blob, headers=auth) as r:
            assert r.status == 200
            uploaded = await r.json()
        digest = base64.urlsafe_b64encode(hashlib.sha256(blob).digest()).rstrip(b"=").decode()
        assert uploaded == {"media_id": digest, "size": len(blob)}
        async with http.get(node.url + PREFIX + f"/media/{digest}",
                            headers={"Authorization": f"Bearer {bob['access_token']}"}) as r:
            assert r.status == 200 and await r.read() == blob
        async with http.post(node.url + PREFIX + "/media", data=os.urandom(300_001),
                             headers=auth) as r:
            assert r.status == 413

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(5):
                yield os.urandom(100_000)
        async with http.post(node.url + PREFIX + "/media", data=chunks(), headers=auth) as r:
            assert r.status == 413, "a chunked upload is cut off at the limit too"
        leftovers = list((node.config.data_dir / "media").rglob(".upload-*"))
        assert leftovers == []
        async with http.get(node.url + PREFIX + "/media/" + "A" * 43,
                            headers=auth) as r:
            assert r.status == 404 and (await r.json())["error"]["code"] == "UNKNOWN_MEDIA"
