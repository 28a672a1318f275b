"""``client.business``: businesses as a customer sees them.

A business's profile and catalog are signed by its node's key; they are fetched through
this device's own node and checked on the device (``node.protocol.documents``): the
signature, the kind, the server, the lifetime, and, for the "verified" mark, the key
pinned in the business domain's DNS. Products are shared as ``Product`` content and
opened against the verified catalog; orders are ``Order`` content.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from crypto.encoding import b64encode
from node.client.content import Order, OrderItem, Product
from node.client.errors import ClientError, ContentError, VerificationError
from node.client.models import Message
from node.protocol.documents import BusinessDocument
from node.protocol.documents import check_business_document as _check
from node.protocol.errors import DocumentError
from node.protocol.names import home_of

if TYPE_CHECKING:
    from node.client.client import Client

__all__ = ["BusinessApi", "BusinessDocument", "check_business_document", "parse_nameserver"]

NameServer = tuple[str, int] | None


def parse_nameserver(value: str | tuple[str, int] | None) -> NameServer:
    """``"127.0.0.1:5353"``, ``"[::1]:53"``, ``"10.0.0.53"`` (port 53) or a (host, port)
    pair as a (host, port) pair; ClientError when it is none of these."""
    if value is None or isinstance(value, tuple):
        if value is not None and not (len(value) == 2 and isinstance(value[0], str)
                                      and isinstance(value[1], int)):
            raise ClientError(f"dns_nameserver {value!r} is not a (host, port) pair")
        return value
    text = value.strip()
    host, port = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ClientError(f"dns_nameserver {value!r} is not HOST or HOST:PORT")
    return host, int(port)


async def check_business_document(answer: dict[str, Any], server_name: str, kind: str,
                                  nameserver: NameServer = None) -> BusinessDocument:
    """``node.protocol.documents.check_business_document``; VerificationError when a
    check fails."""
    try:
        return await _check(answer, server_name, kind, nameserver)
    except DocumentError as exc:
        raise VerificationError(str(exc)) from None


class BusinessApi:
    """Verified business documents, products and orders."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def profile(self, business: str, *, nameserver: NameServer = None
                      ) -> BusinessDocument:
        """The signed profile of ``business`` (an address or server name), checked;
        ``.verified`` when its node key is pinned in the business's DNS, looked up at
        ``nameserver``, else the client's ``dns_nameserver``, else the system's resolver.
        VerificationError when a check fails; ApiError when it cannot be fetched."""
        return await self._document(business, "profile", nameserver)

    async def catalog(self, business: str, *, nameserver: NameServer = None
                      ) -> BusinessDocument:
        """The signed product catalog of ``business``, verified like the profile."""
        return await self._document(business, "catalog", nameserver)

    async def _document(self, business: str, kind: str,
                        nameserver: NameServer) -> BusinessDocument:
        server = home_of(business)
        answer = await self._client.http.request("GET", f"/directory/{quote(server)}/{kind}")
        return await check_business_document(answer, server, kind,
                                             nameserver or self._client.dns_nameserver)

    async def image(self, business: str, media_id: str,
                    limit: int = 16 * 1024 * 1024) -> bytes:
        """A public image of a business (its profile's logo, a product's image): plain
        bytes stored on the business's node, fetched through this device's node, and
        checked against their id (the SHA-256 of the bytes)."""
        server = home_of(business)
        here = home_of(self._client.address)
        data = await self._client.http.download_media(media_id, limit,
                                                      None if server == here else server)
        if not secrets.compare_digest(b64encode(hashlib.sha256(data).digest()), media_id):
            raise VerificationError("the image does not match its id (its hash)")
        return data

    async def send_product(self, to: str, sku: str, catalog: str | None = None) -> Message:
        """Share a product of a catalog (by default the business this device answers
        for, else the recipient's) as a message the other side can open."""
        me = self._client
        server = catalog or (me.speaks_as if me.speaks_as != me.address else to)
        return await me.send(to, Product(sku, home_of(server)))

    async def open_product(self, message: Message, *,
                           nameserver: NameServer = None) -> dict[str, Any]:
        """The catalog entry a product message refers to, from the business's signed
        (and checked) catalog; ``["verified"]`` says whether the catalog is DNS-pinned."""
        product = message.content
        if not isinstance(product, Product):
            raise ContentError("this message refers to no product")
        catalog = await self.catalog(product.catalog, nameserver=nameserver)
        for entry in catalog["products"]:
            if entry.get("sku") == product.sku:
                return {**entry, "verified": catalog.verified}
        raise ContentError(f"{product.catalog} no longer offers {product.sku}")

    async def send_order(self, business: str, items: list[tuple[str, int]], *,
                         order_id: str | None = None, total_minor: int | None = None,
                         currency: str | None = None, txn_id: str | None = None) -> Message:
        """Order ``[(sku, quantity), ...]`` from ``business``. A claimed total, when
        given, is checked by the business against its catalog. ``txn_id``: as for
        ``Client.send`` (a retry sends the first order, not a second one)."""
        order = Order(order_id or "o" + secrets.token_hex(8),
                      tuple(OrderItem(sku, quantity) for sku, quantity in items),
                      total_minor, currency)
        return await self._client.send(business, order, txn_id=txn_id)
