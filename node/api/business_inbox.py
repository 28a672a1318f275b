"""Client API of the team inbox (``/_kontor/client/v1/business/conversations...``):
listing, status/kind/assignee changes, read marks, labels, internal notes and orders of
one conversation. See docs/business.md."""

from __future__ import annotations

from aiohttp import web

from node.api.auth import requester
from node.api.business import body_of, ok, path_int, query_flag, query_int, query_str
from node.api.parsing import field
from node.appkeys import BUSINESS, PRESENCE
from node.services.accounts import parse_address
from node.services.business import conversations, labels, orders
from node.services.business.validate import no_unknown

PREFIX = "/_kontor/client/v1/business/conversations"
routes = web.RouteTableDef()


@routes.get(PREFIX, name="client.business.conversations")
async def inbox(request: web.Request) -> web.Response:
    who = await requester(request)
    assignee = query_str(request, "assignee")
    return ok(await conversations.inbox(
        request.app[BUSINESS], who, status=query_str(request, "status", 20),
        label_id=query_int(request, "label", None, 1, 2**53),
        assignee="" if assignee == "none" else assignee,
        kind=query_str(request, "kind", 20),
        limit=query_int(request, "limit", 50, 1, conversations.MAX_PAGE) or 50,
        cursor=query_str(request, "cursor", 600),
        waiting=query_flag(request, "waiting")))


@routes.get(PREFIX + "/{address}", name="client.business.conversations.get")
async def get_conversation(request: web.Request) -> web.Response:
    who = await requester(request)
    return ok(await conversations.get(request.app[BUSINESS], who,
                                      request.match_info["address"]))


@routes.patch(PREFIX + "/{address}", name="client.business.conversations.update")
async def patch_conversation(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await body_of(request)
    return ok(await conversations.patch(request.app[BUSINESS], who,
                                        request.match_info["address"], body))


@routes.post(PREFIX + "/{address}/read", name="client.business.conversations.read")
async def mark_read(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await body_of(request) if request.can_read_body else {}
    return ok(await conversations.mark_read(request.app[BUSINESS], who,
                                            request.match_info["address"],
                                            body.get("message_id")))


@routes.post(PREFIX + "/{address}/customer-read",
             name="client.business.conversations.customer_read")
async def customer_read(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await body_of(request)
    return ok(await conversations.customer_read(request.app[BUSINESS], who,
                                                request.match_info["address"],
                                                field(body, "up_to_ms", int)))


@routes.put(PREFIX + "/{address}/labels/{label_id}",
            name="client.business.conversations.labels.attach")
async def attach_label(request: web.Request) -> web.Response:
    who = await requester(request)
    result = await labels.set_attached(request.app[BUSINESS], who,
                                       request.match_info["address"],
                                       path_int(request, "label_id"), True)
    return ok({"labels": result})


@routes.delete(PREFIX + "/{address}/labels/{label_id}",
               name="client.business.conversations.labels.detach")
async def detach_label(request: web.Request) -> web.Response:
    who = await requester(request)
    result = await labels.set_attached(request.app[BUSINESS], who,
                                       request.match_info["address"],
                                       path_int(request, "label_id"), False)
    return ok({"labels": result})


@routes.get(PREFIX + "/{address}/notes", name="client.business.conversations.notes")
async def list_notes(request: web.Request) -> web.Response:
    who = await requester(request)
    return ok({"notes": await conversations.notes(request.app[BUSINESS], who,
                                                  request.match_info["address"])})


@routes.post(PREFIX + "/{address}/notes", name="client.business.conversations.notes.add")
async def add_note(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await body_of(request)
    return ok(await conversations.add_note(request.app[BUSINESS], who,
                                           request.match_info["address"],
                                           field(body, "text", str)))


@routes.get(PREFIX + "/{address}/orders", name="client.business.conversations.orders")
async def list_orders(request: web.Request) -> web.Response:
    who = await requester(request)
    return ok({"orders": await orders.for_conversation(request.app[BUSINESS], who,
                                                        request.match_info["address"])})


@routes.post(PREFIX + "/{address}/viewing", name="client.business.conversations.viewing")
async def viewing(request: web.Request) -> web.Response:
    """This team device shows (or left) the conversation: the team's other sockets hear
    it at once; nothing is stored (node/services/presence.py)."""
    who = await requester(request)
    conversation = str(parse_address(request.match_info["address"]))
    body = await body_of(request)
    no_unknown(body, {"viewing"}, "a viewing announcement")
    shown = field(body, "viewing", bool)
    return ok(await request.app[PRESENCE].announce(who, conversation, shown))
