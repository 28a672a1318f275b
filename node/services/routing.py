"""Local or remote: the one place that decides where an account's keys, a media blob or
a business's public documents come from.

An address or server name of this node is answered from this node's services; any
other goes over federation (``FederationLink`` for device lists and claims, the signed
client for media and the public documents), and a failure there is translated once
(``services.federation.remote_failure``). With federation off, anything remote is 403
``FEDERATION_DISABLED``. The HTTP handlers and the automation device's in-process
transport both ask this service, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from federation.client import FED_PREFIX, FederationClient
from federation.errors import FederationError
from node.config import Config
from node.errors import Forbidden, NotFound
from node.nodekey import NodeKey
from node.protocol.names import server_of
from node.services import keys, media
from node.services.business import catalog, profile
from node.services.business.context import Business
from node.services.federation import FederationLink, remote_failure
from node.services.federation_runtime import own_key_document
from node.services.keys import Keys
from node.services.media import Media
from node.storage.db import Database


@dataclass
class Router:
    """What answering for keys, media and the directory needs, from here or from their
    node (the module's functions take it first)."""

    db: Database
    config: Config
    node_key: NodeKey
    biz: Business
    keys: Keys
    media: Media
    link: FederationLink | None = None  # None: federation is off
    client: FederationClient | None = None


def is_local(router: Router, server: str) -> bool:
    return server == router.config.node.server_name


def _remote(router: Router) -> tuple[FederationLink, FederationClient]:
    if router.link is None or router.client is None:
        raise Forbidden("federation is disabled on this node", code="FEDERATION_DISABLED")
    return router.link, router.client


async def devices(router: Router, address: str) -> dict[str, Any]:
    """The account's device list: ours, or its node's (``RemoteDevices``: cached while
    fresh, fetched once for concurrent requests)."""
    if is_local(router, server_of(address)):
        return await keys.device_list(router.keys, address)
    return await _remote(router)[0].devices.get(address)


async def claim(router: Router, address: str, device_ids: list[str] | None) -> dict[str, Any]:
    """One-time prekeys of the account's devices, claimed here or on its node."""
    if is_local(router, server_of(address)):
        return await keys.claim(router.keys, address, device_ids)
    return await _remote(router)[0].claim(address, device_ids)


async def media_path(router: Router, server: str, media_id: str) -> Path:
    """The file of a blob uploaded on ``server`` (fetched, checked and kept once)."""
    if is_local(router, server):
        return await media.locate(router.media, media_id)
    client = _remote(router)[1]
    media.blob_path(router.media.data_dir, media_id)  # validates the id first
    try:
        return await media.fetch_remote(router.media, client, server, media_id)
    except FederationError as exc:
        missing = NotFound(f"{server} has no such media", code="UNKNOWN_MEDIA")
        raise remote_failure(exc, server, missing, gone=(404, 413)) from None


async def document(router: Router, server: str, name: str) -> dict[str, Any]:
    """A business's signed ``profile`` or ``catalog`` (``name``) with the key document of the
    server that signed it (the app verifies both itself)."""
    if is_local(router, server):
        doc = await (profile if name == "profile" else catalog).public_document(router.biz)
        key_doc = await own_key_document(router.db, router.config, router.node_key)
        return {"server_name": server, "document": doc, "keys": key_doc}
    client = _remote(router)[1]
    try:
        doc = await client.get_public(server, f"{FED_PREFIX}/{name}")
        key_doc = await client.fetch_keys(server)
    except FederationError as exc:
        missing = NotFound(f"{server} publishes no {name}", code="UNKNOWN_DOCUMENT")
        raise remote_failure(exc, server, missing) from None
    return {"server_name": server, "document": doc, "keys": key_doc}
