"""``client.admin``: an admin's management of the business (docs/business.md).

Profile and automation settings, the catalog, quick replies, labels, blocks, statistics,
and customers' data rights (export, erase). Each call is one route of the business API;
the node checks that the device's account is an admin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from node.client.errors import NotFound

if TYPE_CHECKING:
    from node.client.client import Client

B = "/business"


class Admin:
    """The business's settings, catalog and customers' data."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def _call(self, method: str, path: str, body: Any = None,
                    params: dict[str, Any] | None = None) -> Any:
        return await self._client.http.request(method, B + path, body, params)

    async def update_profile(self, **fields: Any) -> dict[str, Any]:
        """Change profile fields (name, description, category, postal_address, website,
        email, phone, logo, timezone, hours, exceptions); returns the signed profile."""
        return dict(await self._call("PUT", "/profile", fields))

    async def set_automation(self, **settings: dict[str, Any]) -> dict[str, Any]:
        """``greeting={...}``, ``away={...}``: enable, text, days of silence, manual
        away switch."""
        return dict(await self._call("PUT", "/automation", settings))

    async def save_product(self, sku: str, **fields: Any) -> dict[str, Any]:
        """Create the product ``sku`` or change the given fields of it."""
        try:
            return dict(await self._call("PATCH", f"/products/{quote(sku)}", fields))
        except NotFound:
            return dict(await self._call("POST", "/products", {"sku": sku, **fields}))

    async def delete_product(self, sku: str) -> None:
        await self._call("DELETE", f"/products/{quote(sku)}")

    async def save_quick_reply(self, shortcut: str, text: str) -> dict[str, Any]:
        """Create or replace a quick reply."""
        try:
            return dict(await self._call(
                "PUT", f"/quick-replies/{quote(shortcut.lstrip('/'))}", {"text": text}))
        except NotFound:
            return dict(await self._call("POST", "/quick-replies",
                                         {"shortcut": shortcut, "text": text}))

    async def create_label(self, name: str, color: str) -> dict[str, Any]:
        return dict(await self._call("POST", "/labels", {"name": name, "color": color}))

    async def block(self, target: str, reason: str | None = None) -> dict[str, Any]:
        """Block an address or a whole server from writing to the business."""
        body = {"target": target} if reason is None else {"target": target, "reason": reason}
        return dict(await self._call("POST", "/blocks", body))

    async def unblock(self, target: str) -> None:
        await self._call("DELETE", f"/blocks/{quote(target)}")

    async def stats(self, days: int = 7) -> dict[str, Any]:
        """Per-day figures and their totals."""
        return dict(await self._call("GET", "/stats", params={"days": str(days)}))

    async def export_customer(self, address: str) -> dict[str, Any]:
        """Everything the node holds about a customer."""
        return dict(await self._call("GET", f"/customers/{quote(address)}/export"))

    async def erase_customer(self, address: str) -> dict[str, Any]:
        """Remove everything about a customer; returns what was removed, per kind."""
        return dict(await self._call("DELETE", f"/customers/{quote(address)}"))
