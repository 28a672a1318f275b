"""Client API of the business layer (``/_kontor/client/v1/business/...``), except the
inbox (``business_inbox``): profile, automation, labels, quick replies, catalog, orders,
blocks, statistics and data rights. See docs/business.md.

Handlers authenticate, parse and size-check; the services in
``node.services.business`` check roles and values and decide.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from node.api.auth import requester
from node.api.parsing import field, read_json_object
from node.appkeys import AUTOMATION, BUSINESS
from node.errors import InvalidParameter
from node.services.business import (
    automation,
    blocking,
    catalog,
    datarights,
    labels,
    orders,
    profile,
    quick_replies,
    stats,
)

PREFIX = "/_kontor/client/v1/business"
MAX_BODY = 256 * 1024
routes = web.RouteTableDef()


def ok(data: Any) -> web.Response:
    return web.json_response(data)


async def body_of(request: web.Request) -> dict[str, Any]:
    return await read_json_object(request, MAX_BODY)


def path_int(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not re.fullmatch(r"[0-9]{1,15}", raw):
        raise InvalidParameter(f"{name} must be a whole number")
    return int(raw)


def query_str(request: web.Request, name: str, max_len: int = 320) -> str | None:
    value = request.query.get(name)
    if value is not None and len(value) > max_len:
        raise InvalidParameter(f"query parameter {name} is longer than {max_len}")
    return value


def query_int(request: web.Request, name: str, default: int | None, lo: int,
              hi: int) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,16}", raw) or not lo <= int(raw) <= hi:
        raise InvalidParameter(f"query parameter {name} must be a whole number from {lo} "
                               f"to {hi}")
    return int(raw)


def query_flag(request: web.Request, name: str) -> bool | None:
    """``?name=true`` or ``false`` (or absent: None)."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if raw not in ("true", "false"):
        raise InvalidParameter(f"query parameter {name} must be true or false")
    return raw == "true"


# --- profile and automation ------------------------------------------------------------------

@routes.get(PREFIX + "/profile", name="client.business.profile")
async def get_profile(request: web.Request) -> web.Response:
    await requester(request)
    return ok(await profile.public_document(request.app[BUSINESS]))


@routes.put(PREFIX + "/profile", name="client.business.profile.update")
async def put_profile(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await body_of(request)
    return ok(await profile.update(request.app[BUSINESS], who, body))


@routes.get(PREFIX + "/automation", name="client.business.automation")
async def get_automation(request: web.Request) -> web.Response:
    who = await requester(request)
    return ok(await automation.get_settings(request.app[BUSINESS], who))


@routes.put(PREFIX + "/automation", name="client.business.automation.update")
async def put_automation(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await body_of(request)
    return ok(await automation.update_settings(request.app[BUSINESS], who, body))


# --- labels ----------------------------------------------------------------------------------

@routes.get(PREFIX + "/labels", name="client.business.labels")
async def list_labels(request: web.Request) -> web.Response:
    who = await requester(request)
    return ok({"labels": await labels.list_all(request.app[BUSINESS], who)})


@routes.post(PREFIX + "/labels", name="client.business.labels.create")
async def create_label(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await body_of(request)
    return ok(await labels.create(request.app[BUSINESS], who, field(body, "name", str),
                                  field(body, "color", str)))


@routes.patch(PREFIX + "/labels/{label_id}", name="client.business.labels.update")
async def update_label(request: web.Request) -> web.Response:
    who = await requester(request)
    label_id = path_int(request, "label_id")
    body = await body_of(request)
    return ok(await labels.update(request.app[BUSINESS], who, label_id, body))


@routes.delete(PREFIX + "/labels/{label_id}", name="client.business.labels.delete")
async def delete_label(request: web.Request) -> web.Response:
    who = await requester(request)
    await labels.delete(request.app[BUSINESS], who, path_int(request, "label_id"))
    return ok({})


# --- quick replies ---------------------------------------------------------------------------

@routes.get(PREFIX + "/quick-replies", name="client.business.quick_replies")
async def list_quick_replies(request: web.Request) -> web.Response:
    who = await requester(request)
    return ok({"quick_replies": await quick_replies.list_all(request.app[BUSINESS], who)})


@routes.post(PREFIX + "/quick-replies", name="client.business.quick_replies.create")
async def create_quick_reply(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await body_of(request)
    return ok(await quick_replies.create(request.app[BUSINESS], who,
                                         field(body, "shortcut", str, max_len=40),
                                         field(body, "text", str)))


@routes.get(PREFIX + "/quick-replies/{shortcut}", name="client.business.quick_replies.get")
async def get_quick_reply(request: web.Request) -> web.Response:
    who = await requester(request)
    return ok(await quick_replies.get(request.app[BUSINESS], who,
                                      request.match_info["shortcut"]))


@routes.put(PREFIX + "/quick-replies/{shortcut}", name="client.business.quick_replies.update")
async def update_quick_reply(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await body_of(request)
    return ok(await quick_replies.update(request.app[BUSINESS], who,
                                         request.match_info["shortcut"],
                                         field(body, "text", str)))


@routes.delete(PREFIX + "/quick-replies/{shortcut}",
               name="client.business.quick_replies.delete")
async def delete_quick_reply(request: web.Request) -> web.Response:
    who = await requester(request)
    await quick_replies.delete(request.app[BUSINESS], who, request.match_info["shortcut"])
    return ok({})


# --- catalog and orders ----------------------------------------------------------------------

@routes.get(PREFIX + "/catalog", name="client.business.catalog")
async def get_catalog(request: web.Request) -> web.Response:
    await requester(request)
    return ok(await catalog.public_document(request.app[BUSINESS]))


@routes.get(PREFIX + "/products", name="client.business.products")
async def list_products(request: web.Request) -> web.Response:
    who = await requester(request)
    return ok({"products": await catalog.list_all(request.app[BUSINESS], who)})


@routes.post(PREFIX + "/products", name="client.business.products.create")
async def create_product(request: web.Request) -> web.Response:
    who = await requester(request)
    return ok(await catalog.create(request.app[BUSINESS], who, await body_of(request)))


@routes.get(PREFIX + "/products/{sku}", name="client.business.products.get")
async def get_product(request: web.Request) -> web.Response:
    who = await requester(request)
    return ok(await catalog.get(request.app[BUSINESS], who, request.match_info["sku"]))


@routes.patch(PREFIX + "/products/{sku}", name="client.business.products.update")
async def update_product(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await body_of(request)
    return ok(await catalog.update(request.app[BUSINESS], who, request.match_info["sku"],
                                   body))


@routes.delete(PREFIX + "/products/{sku}", name="client.business.products.delete")
async def delete_product(request: web.Request) -> web.Response:
    who = await requester(request)
    await catalog.delete(request.app[BUSINESS], who, request.match_info["sku"])
    return ok({})


@routes.post(PREFIX + "/orders", name="client.business.orders.create")
async def create_order(request: web.Request) -> web.Response:
    who = await requester(request)
    return ok(await orders.record(request.app[BUSINESS], who, await body_of(request)))


@routes.get(PREFIX + "/orders/{order_id}", name="client.business.orders.get")
async def get_order(request: web.Request) -> web.Response:
    who = await requester(request)
    return ok(await orders.get(request.app[BUSINESS], who, request.match_info["order_id"]))


@routes.patch(PREFIX + "/orders/{order_id}", name="client.business.orders.update")
async def update_order(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await body_of(request)
    return ok(await orders.set_status(request.app[BUSINESS], who,
                                      request.match_info["order_id"], body))


# --- blocks, statistics, data rights ---------------------------------------------------------

@routes.get(PREFIX + "/blocks", name="client.business.blocks")
async def list_blocks(request: web.Request) -> web.Response:
    who = await requester(request)
    return ok({"blocks": await blocking.list_all(request.app[BUSINESS], who)})


@routes.post(PREFIX + "/blocks", name="client.business.blocks.create")
async def create_block(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await body_of(request)
    return ok(await blocking.block(request.app[BUSINESS], who,
                                   field(body, "target", str, max_len=320),
                                   field(body, "reason", str, required=False, default="")))


@routes.delete(PREFIX + "/blocks/{target}", name="client.business.blocks.delete")
async def delete_block(request: web.Request) -> web.Response:
    who = await requester(request)
    await blocking.unblock(request.app[BUSINESS], who, request.match_info["target"])
    return ok({})


@routes.get(PREFIX + "/stats", name="client.business.stats")
async def get_stats(request: web.Request) -> web.Response:
    who = await requester(request)
    return ok(await stats.report(request.app[BUSINESS], who,
                                 query_str(request, "from", 10), query_str(request, "to", 10),
                                 query_int(request, "days", None, 1, stats.MAX_DAYS)))


@routes.get(PREFIX + "/customers/{address}/export", name="client.business.customers.export")
async def export_customer(request: web.Request) -> web.Response:
    who = await requester(request)
    return ok(await datarights.export(request.app[BUSINESS], who,
                                      request.match_info["address"]))


@routes.delete(PREFIX + "/customers/{address}", name="client.business.customers.erase")
async def erase_customer(request: web.Request) -> web.Response:
    who = await requester(request)
    device = request.app.get(AUTOMATION)
    return ok(await datarights.erase(request.app[BUSINESS], who,
                                     request.match_info["address"],
                                     device.forget if device is not None else None))
