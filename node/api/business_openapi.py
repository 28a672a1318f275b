"""OpenAPI entries of the business routes, appended to ``node.api.openapi.ROUTES``.

Same tuple shape as there: (method, path under /_kontor/client/v1, summary, needs a
token, request schema or None, response schema). Self-contained (no import of
``openapi``) so that either module may be imported first.
"""

from __future__ import annotations

from typing import Any

S = dict[str, Any]


def _obj(required: list[str] | None = None, **props: S) -> S:
    out: S = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


def _arr(items: S) -> S:
    return {"type": "array", "items": items}


def _enum(*values: str) -> S:
    return {"type": "string", "enum": list(values)}


STR: S = {"type": "string"}
INT: S = {"type": "integer"}
BOOL: S = {"type": "boolean"}
NSTR: S = {"type": "string", "nullable": True}
NINT: S = {"type": "integer", "nullable": True}
ANY_OBJ: S = {"type": "object", "additionalProperties": True}
EMPTY: S = {"type": "object"}
ADDRESS: S = {"type": "string", "example": "anna@shop.example"}
INTERVALS = _arr(_obj(["open", "close"], open={"type": "string", "example": "09:00"},
                      close={"type": "string", "example": "17:30"}))
DEVICE = _obj(["device_id", "name"], device_id=STR, name=STR, created_ms=INT,
              last_seen_ms=INT, has_keys=BOOL, current=BOOL)
MEMBER = _obj(["address", "role", "devices"], address=ADDRESS, role=_enum("admin", "agent"),
              created_ms=INT, devices=_arr(DEVICE))
INVITE = _obj(["invite_id", "role", "state"], invite_id=STR, role=STR, created_ms=INT,
              expires_ms=INT, state=_enum("open", "used", "expired"), used_by=NSTR)
SIGNATURES = {"type": "object", "description": "{server_name: {key_id: signature}}"}

PROFILE_FIELDS: S = dict(
    name=STR, description=STR, category=STR, postal_address=STR, website=STR, email=STR, phone=STR,
    logo={**NSTR, "description": "media id from POST /media"},
    timezone={"type": "string", "example": "Europe/Berlin"},
    hours={"type": "object", "description": "mon..sun -> intervals",
           "additionalProperties": INTERVALS},
    exceptions={"type": "object", "description": "YYYY-MM-DD -> intervals ([]: closed)",
                "additionalProperties": INTERVALS})
PROFILE_DOC = _obj(["type", "server_name", "address", "version", "updated_ms",
                    "valid_until_ms", "signatures"],
                   type=STR, server_name=STR, address=ADDRESS, **PROFILE_FIELDS,
                   version=INT, updated_ms=INT, valid_until_ms=INT, open_now=BOOL,
                   next_change_ms=NINT, typical_response_ms=NINT, signatures=SIGNATURES)
GREETING = _obj(enabled=BOOL, text=STR, after_days_silence=INT)
AWAY = _obj(enabled=BOOL, text=STR, manual=BOOL, outside_hours=BOOL, manual_since_ms=NINT)
AUTOMATION = _obj(greeting=GREETING, away=AWAY)
LABEL = _obj(["label_id", "name", "color"], label_id=INT, name=STR,
             color={"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"}, conversations=INT)
QUICK_REPLY = _obj(["shortcut", "text"], shortcut={"type": "string", "example": "/thanks"},
                   text=STR, placeholders=_arr(STR), created_ms=INT, updated_ms=INT)
AVAILABILITY = _enum("in_stock", "out_of_stock", "discontinued")
PRODUCT_FIELDS: S = dict(sku=STR, name=STR, description=STR, price_minor=INT,
                         currency={"type": "string", "example": "EUR"}, image=NSTR,
                         availability=AVAILABILITY)
PRODUCT = _obj(["sku", "name", "price_minor", "currency", "availability"], **PRODUCT_FIELDS,
               stock=NINT, created_ms=INT, updated_ms=INT)
CATALOG_DOC = _obj(["type", "server_name", "address", "products", "version", "signatures"],
                   type=STR, server_name=STR, address=ADDRESS,
                   products=_arr(_obj(**PRODUCT_FIELDS)), version=INT, updated_ms=INT,
                   valid_until_ms=INT, signatures=SIGNATURES)
ITEM = _obj(["sku", "quantity"], sku=STR, quantity=INT)
ORDER_STATUS = _enum("new", "confirmed", "paid", "shipped", "completed", "cancelled")
ORDER = _obj(["order_id", "conversation", "items", "total_minor", "currency", "status"],
             order_id=STR, conversation=ADDRESS,
             items=_arr(_obj(sku=STR, name=STR, quantity=INT, unit_price_minor=INT,
                             line_total_minor=INT)),
             total_minor=INT, currency=STR, status=ORDER_STATUS, created_by=ADDRESS,
             created_ms=INT, updated_ms=INT)
CONVERSATION = _obj(
    ["customer", "kind", "status", "labels", "unread", "last_activity_ms"],
    customer=ADDRESS, kind=_enum("customer", "private"),
    status=_enum("open", "pending", "resolved"), assignee={**ADDRESS, "nullable": True},
    labels=_arr(LABEL), unread=INT, notes=INT, created_ms=INT, last_activity_ms=INT,
    last_incoming_ms=NINT, last_outgoing_ms=NINT, read_ms=NINT, customer_read_ms=NINT,
    awaiting_reply_since_ms=NINT, waiting_since_ms=NINT, first_response_ms=NINT)
NOTE = _obj(["note_id", "author", "text", "created_ms"], note_id=INT, author=ADDRESS,
            text=STR, created_ms=INT)
BLOCK = _obj(["target", "kind"], target=STR, kind=_enum("address", "server"), reason=STR,
             created_by=ADDRESS, created_ms=INT)
STATS_ROW = _obj(date=STR, conversations_started=INT, messages_sent=INT,
                 messages_received=INT, delivered=INT, read=INT, read_by_team=INT,
                 responses=INT, median_first_response_ms=NINT, orders=INT,
                 revenue={"type": "object", "description": "currency -> total in minor units",
                          "additionalProperties": INT})
STATS = _obj(["timezone", "from", "to", "days", "totals"], timezone=STR,
             **{"from": STR, "to": STR}, days=_arr(STATS_ROW), totals=STATS_ROW)
B = "/business"
C = B + "/conversations/{address}"

BUSINESS_ROUTES: list[tuple[str, str, str, bool, S | None, S]] = [
    ("get", B + "/profile", "The business profile, signed by the node (any account)", True,
     None, PROFILE_DOC),
    ("put", B + "/profile", "Change profile fields (admins; null resets a field)", True,
     _obj(**PROFILE_FIELDS), PROFILE_DOC),
    ("get", B + "/automation", "Greeting and away settings (admins)", True, None, AUTOMATION),
    ("put", B + "/automation", "Change greeting and away settings (admins)", True,
     AUTOMATION, AUTOMATION),
    ("get", B + "/labels", "Labels with their conversation counts (team)", True, None,
     _obj(labels=_arr(LABEL))),
    ("post", B + "/labels", "Create a label (team)", True,
     _obj(["name", "color"], name=STR, color=STR), LABEL),
    ("patch", B + "/labels/{label_id}", "Rename and/or recolour a label (team)", True,
     _obj(name=STR, color=STR), LABEL),
    ("delete", B + "/labels/{label_id}", "Delete a label, detaching it everywhere (team)",
     True, None, EMPTY),
    ("get", B + "/quick-replies", "Quick replies (team)", True, None,
     _obj(quick_replies=_arr(QUICK_REPLY))),
    ("post", B + "/quick-replies", "Create a quick reply (admins)", True,
     _obj(["shortcut", "text"], shortcut=STR, text=STR), QUICK_REPLY),
    ("get", B + "/quick-replies/{shortcut}", "One quick reply (team)", True, None,
     QUICK_REPLY),
    ("put", B + "/quick-replies/{shortcut}", "Change a quick reply's text (admins)", True,
     _obj(["text"], text=STR), QUICK_REPLY),
    ("delete", B + "/quick-replies/{shortcut}", "Delete a quick reply (admins)", True, None,
     EMPTY),
    ("get", B + "/catalog", "The public catalog, signed by the node (any account)", True,
     None, CATALOG_DOC),
    ("get", B + "/products", "Every product, discontinued ones too (team)", True, None,
     _obj(products=_arr(PRODUCT))),
    ("post", B + "/products", "Add a product (admins)", True,
     _obj(["sku", "name", "price_minor", "currency"], **PRODUCT_FIELDS), PRODUCT),
    ("get", B + "/products/{sku}", "One product (team)", True, None, PRODUCT),
    ("patch", B + "/products/{sku}", "Change a product (admins)", True,
     _obj(**PRODUCT_FIELDS), PRODUCT),
    ("delete", B + "/products/{sku}", "Remove a product (admins)", True, None, EMPTY),
    ("post", B + "/orders", "Record an order; the node prices it from its catalog (team)",
     True, _obj(["conversation", "order_id", "items"], conversation=ADDRESS, order_id=STR,
                items=_arr(ITEM), total_minor=INT, currency=STR), ORDER),
    ("get", B + "/orders/{order_id}", "One order (team)", True, None, ORDER),
    ("patch", B + "/orders/{order_id}", "Move an order to a new status (team)", True,
     _obj(["status"], status=ORDER_STATUS), ORDER),
    ("get", B + "/blocks", "Blocked addresses and servers (team)", True, None,
     _obj(blocks=_arr(BLOCK))),
    ("post", B + "/blocks", "Block an address or a server name (team)", True,
     _obj(["target"], target=STR, reason=STR), BLOCK),
    ("delete", B + "/blocks/{target}", "Lift a block (team)", True, None, EMPTY),
    ("get", B + "/stats", "Daily statistics in the business's time zone (team)", True, None,
     STATS),
    ("get", B + "/customers/{address}/export", "Everything held about a customer (admins)",
     True, None, ANY_OBJ),
    ("delete", B + "/customers/{address}", "Erase everything held about a customer (admins)",
     True, None, _obj(address=ADDRESS, removed=ANY_OBJ)),
    ("get", B + "/team", "The admins and agents with their devices (admins)", True, None,
     _obj(["members"], members=_arr(MEMBER))),
    ("delete", B + "/team/{address}", "Remove a team account and its devices (admins)", True,
     None, _obj(address=ADDRESS, removed_devices=INT)),
    ("delete", B + "/team/{address}/devices/{device_id}", "Revoke a team member's device "
     "(admins)", True, None, _obj(address=ADDRESS, device_id=STR)),
    ("get", B + "/invites", "One-time invites by id and state (admins)", True, None,
     _obj(["registration", "invites"], registration=STR, invites=_arr(INVITE))),
    ("post", B + "/invites", "A one-time invite; its token is shown once (admins)", True,
     _obj(role=_enum("admin", "agent", "customer"), days=INT), {**INVITE, "properties": {
         **INVITE["properties"], "token": STR}}),
    ("delete", B + "/invites/{invite_id}", "Withdraw an unused invite (admins)", True, None,
     _obj(invite_id=STR)),
    ("get", B + "/conversations", "The team inbox, newest activity first (team)", True, None,
     _obj(["conversations"], conversations=_arr(CONVERSATION), next_cursor=NSTR)),
    ("get", C, "One conversation (team)", True, None, CONVERSATION),
    ("patch", C, "Change status, kind or assignee (team)", True,
     _obj(status=_enum("open", "pending", "resolved"), kind=_enum("customer", "private"),
          assignee={**ADDRESS, "nullable": True}), CONVERSATION),
    ("post", C + "/read", "The team read the customer's messages, up to one or all (team)",
     True, _obj(message_id=STR), CONVERSATION),
    ("post", C + "/customer-read", "The customer read business messages up to a time "
     "(learned end to end; team)", True, _obj(["up_to_ms"], up_to_ms=INT),
     _obj(marked=INT, conversation=CONVERSATION)),
    ("put", C + "/labels/{label_id}", "Attach a label (team)", True, None,
     _obj(labels=_arr(LABEL))),
    ("delete", C + "/labels/{label_id}", "Detach a label (team)", True, None,
     _obj(labels=_arr(LABEL))),
    ("get", C + "/notes", "Internal notes (team)", True, None, _obj(notes=_arr(NOTE))),
    ("post", C + "/notes", "Add an internal note, never sent to the customer (team)", True,
     _obj(["text"], text=STR), NOTE),
    ("post", C + "/viewing", "This device shows (or left) the conversation: the team's "
     "other sockets hear it; nothing is stored (team)", True, _obj(["viewing"], viewing=BOOL),
     _obj(conversation=ADDRESS, viewing=BOOL, expires_ms=NINT, sockets=INT)),
    ("get", C + "/orders", "The conversation's orders (team)", True, None,
     _obj(orders=_arr(ORDER))),
]

# path -> [(query parameter, its schema)]
BUSINESS_QUERY: dict[str, list[tuple[str, S]]] = {
    B + "/conversations": [
        ("status", _enum("open", "pending", "resolved")), ("label", INT),
        ("assignee", {"type": "string", "description": "an address, or none"}),
        ("kind", _enum("customer", "private")), ("limit", {**INT, "default": 50}),
        ("cursor", STR), ("waiting", {"type": "boolean", "description":
                                      "true: only those waiting for a reply; false: the others"})],
    B + "/stats": [("from", {"type": "string", "format": "date"}),
                   ("to", {"type": "string", "format": "date"}), ("days", {**INT, "default": 7})],
}
