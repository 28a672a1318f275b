"""``client.team``: what a team member's device does beside chatting.

The team inbox (conversations with status, assignee, labels, notes and orders), quick
replies filled in on the device, order status changes, and the reports a team device
makes to its business node about what customers' apps sent end to end, which the node
cannot see: orders (``record_order``, priced by the node from its catalog) and read
receipts (``report_read``, for its statistics). Reporting is explicit: an app calls
``report(event)`` for the events it receives, or the specific calls.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from node.client.content import Order, OrderStatus
from node.client.errors import ClientError, Conflict, NotFound
from node.client.models import Event, Message, Receipt
from node.protocol import placeholders

if TYPE_CHECKING:
    from node.client.client import Client

B = "/business"


class Team:
    """The business's team inbox and its reports, for admins and agents."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def _call(self, method: str, path: str, body: Any = None,
                    params: dict[str, Any] | None = None) -> Any:
        return await self._client.http.request(method, B + path, body, params)

    async def inbox(self, **filters: str | int) -> list[dict[str, Any]]:
        """Conversations of the business, newest activity first; filters: status,
        label (id), assignee, kind, limit, cursor."""
        answer = await self._call("GET", "/conversations",
                                  params={k: str(v) for k, v in filters.items()})
        return list(answer["conversations"])

    async def conversation(self, customer: str) -> dict[str, Any]:
        return dict(await self._call("GET", f"/conversations/{quote(customer)}"))

    async def update(self, customer: str, **fields: Any) -> dict[str, Any]:
        """Change ``status``, ``kind`` or ``assignee`` of a conversation."""
        return dict(await self._call("PATCH", f"/conversations/{quote(customer)}", fields))

    async def assign(self, customer: str, assignee: str | None) -> dict[str, Any]:
        """Assign the conversation to a team member (None: unassign)."""
        return await self.update(customer, assignee=assignee)

    async def mark_read(self, customer: str, message_id: str | None = None) -> dict[str, Any]:
        """Mark the customer's messages read for the whole team (up to ``message_id``,
        else all); ``Client.mark_read`` does it for a team device."""
        body = {} if message_id is None else {"message_id": message_id}
        return dict(await self._call("POST", f"/conversations/{quote(customer)}/read",
                                     body))

    async def labels(self) -> list[dict[str, Any]]:
        return list((await self._call("GET", "/labels"))["labels"])

    async def add_label(self, customer: str, label_id: str) -> list[dict[str, Any]]:
        path = f"/conversations/{quote(customer)}/labels/{quote(label_id)}"
        return list((await self._call("PUT", path))["labels"])

    async def remove_label(self, customer: str, label_id: str) -> list[dict[str, Any]]:
        path = f"/conversations/{quote(customer)}/labels/{quote(label_id)}"
        return list((await self._call("DELETE", path))["labels"])

    async def notes(self, customer: str) -> list[dict[str, Any]]:
        return list((await self._call("GET", f"/conversations/{quote(customer)}/notes"))
                    ["notes"])

    async def add_note(self, customer: str, text: str) -> dict[str, Any]:
        """An internal note on the conversation (seen by the team only)."""
        return dict(await self._call("POST", f"/conversations/{quote(customer)}/notes",
                                     {"text": text}))

    async def orders(self, customer: str) -> list[dict[str, Any]]:
        return list((await self._call("GET", f"/conversations/{quote(customer)}/orders"))
                    ["orders"])

    async def quick_replies(self) -> dict[str, str]:
        """The business's quick replies: shortcut -> text with placeholders."""
        answer = await self._call("GET", "/quick-replies")
        items = answer.get("quick_replies", answer) if isinstance(answer, dict) else answer
        return {q["shortcut"]: q["text"] for q in items}

    async def send_quick_reply(self, to: str, shortcut: str, **values: str) -> Message:
        """Send the quick reply ``shortcut`` to the customer ``to`` with every
        placeholder filled in: the business's fields from its profile, the customer's
        from their address, ``agent_name`` from this account, the order ones from the
        conversation's latest order, the date; ``values`` override any of them
        (``customer_name="Carl"``)."""
        replies = await self.quick_replies()
        if shortcut not in replies and "/" + shortcut in replies:
            shortcut = "/" + shortcut
        if shortcut not in replies:
            raise ClientError(f"no quick reply {shortcut!r}; known: {', '.join(replies)}")
        text = replies[shortcut]
        filled = await self._placeholder_values(to, text)
        return await self._client.send_text(
            to, placeholders.expand(text, {**filled, **values}))

    async def _placeholder_values(self, customer: str, text: str) -> dict[str, str]:
        """The values of every placeholder for a text to ``customer``."""
        profile = await self._call("GET", "/profile")
        order = None
        if placeholders.placeholders_in(text) & placeholders.ORDER_PLACEHOLDERS:
            try:
                orders = await self.orders(customer)
            except NotFound:
                orders = []
            order = orders[-1] if orders else None
        return placeholders.values_for(
            profile=profile, business_address=self._client.speaks_as, customer=customer,
            agent_name=placeholders.display_name(self._client.address), order=order,
            now_ms=int(time.time() * 1000))

    async def send_order_status(self, customer: str, order_id: str, status: str) -> Message:
        """Move an order to ``status`` on the business node and tell the customer."""
        await self._call("PATCH", f"/orders/{quote(order_id)}", {"status": status})
        return await self._client.send(customer, OrderStatus(order_id, status))

    async def record_order(self, message: Message) -> dict[str, Any]:
        """Record a customer's order message on the business node, which prices it from
        its own catalog; returns the order (also when another team device recorded it
        first). Conflict ``ORDER_ID_TAKEN`` when another customer holds that id."""
        order = message.content
        if not isinstance(order, Order):
            raise ClientError("this message is no order")
        body: dict[str, Any] = {
            "conversation": message.sender, "order_id": order.order_id,
            "items": [{"sku": i.sku, "quantity": i.quantity} for i in order.items]}
        for key in ("total_minor", "currency"):
            if getattr(order, key) is not None:
                body[key] = getattr(order, key)
        try:
            return dict(await self._call("POST", "/orders", body))
        except Conflict as err:
            if err.code != "ORDER_EXISTS":
                raise
        existing = dict(await self._call("GET", f"/orders/{quote(order.order_id)}"))
        if existing.get("conversation") != message.sender:
            raise Conflict(409, "ORDER_ID_TAKEN", f"order id {order.order_id} is taken")
        return existing

    async def report_read(self, receipt: Receipt) -> bool:
        """Tell the business node that a customer read the business's messages, for its
        statistics (read receipts are end to end; the node cannot see them). False when
        the receipt is for nothing this device sent the customer."""
        up_to = self._client.store.latest_ts(receipt.message_ids, peer=receipt.by)
        if up_to is None:
            return False
        await self._call("POST", f"/conversations/{quote(receipt.by)}/customer-read",
                         {"up_to_ms": up_to})
        return True

    async def report(self, event: Event) -> dict[str, Any] | None:
        """Report what the business node should know of a received event: a customer's
        order (recorded; returns the order) or read receipt. Other events: None."""
        business = self._client.speaks_as
        if business == self._client.address:
            return None  # not a team device
        if isinstance(event, Message) and isinstance(event.content, Order) \
                and not event.outgoing and event.to == business:
            return await self.record_order(event)
        if isinstance(event, Receipt) and event.kind == "read" and event.by != business:
            return {"read_reported": await self.report_read(event)}
        return None
