"""The OpenAPI 3 description of the client API, served at ``/openapi.json``.

Each route is declared once in ``ROUTES``; a test checks that every client route the
app serves appears here, so the document cannot fall behind the code.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node import __version__
from node.api.business_openapi import BUSINESS_QUERY, BUSINESS_ROUTES

PREFIX = "/_kontor/client/v1"
routes = web.RouteTableDef()

S = dict[str, Any]


def obj(required: list[str] | None = None, **props: S) -> S:
    out: S = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


STR: S = {"type": "string"}
INT: S = {"type": "integer"}
B64: S = {"type": "string", "pattern": "^[A-Za-z0-9_-]*$", "description": "unpadded base64url"}
ADDRESS: S = {"type": "string", "example": "anna@shop.example"}
ANY_OBJ: S = {"type": "object", "additionalProperties": True}
EMPTY: S = {"type": "object"}

SESSION = obj(["address", "device_id", "access_token", "role"], address=ADDRESS,
              device_id=STR, access_token=STR,
              role={"type": "string", "enum": ["admin", "agent", "customer"]})
BUNDLE = obj(["device_id", "device_keys", "signed_prekey"], device_id=STR,
             device_keys=ANY_OBJ, signed_prekey=ANY_OBJ,
             one_time_prekey={"oneOf": [ANY_OBJ, {"type": "null"}]})
EVENT = obj(["pos", "type"], pos=INT,
            type={"type": "string", "enum": ["message", "receipt", "failed", "conversation",
                                             "devices_changed", "device_added",
                                             "history_keys", "erased"]},
            message_id=STR, sender=ADDRESS, sender_device=STR, to=ADDRESS, ts=INT,
            ciphertext=B64, receipt={"type": "string", "enum": ["delivered"]}, by=ADDRESS,
            device=STR, reason=STR, change=STR, conversation=ANY_OBJ, note=ANY_OBJ)
SYNC = obj(["events", "next", "epoch"], events={"type": "array", "items": EVENT}, next=INT,
           epoch=STR)
COUNT = obj(["one_time_prekeys"], one_time_prekeys=INT)
ERROR = obj(["error"], error=obj(["code", "message"], code=STR, message=STR))

# (method, path, summary, needs token, request schema or None, response schema)
ROUTES: list[tuple[str, str, str, bool, S | None, S]] = [
    ("post", "/register", "Register an account (open or invite mode)", False,
     obj(["username", "password"], username=STR, password=STR, invite=STR,
         device_name=STR), SESSION),
    ("post", "/login", "Log in a new device", False,
     obj(["username", "password"], username=STR, password=STR, device_name=STR), SESSION),
    ("post", "/logout", "Revoke this device and its token", True, EMPTY, EMPTY),
    ("get", "/account", "This account and its devices", True, None,
     obj(address=ADDRESS, role=STR, device_id=STR, business=ADDRESS, speaks_as=ADDRESS,
         guest={"type": "boolean"}, has_password={"type": "boolean"},
         devices={"type": "array", "items": ANY_OBJ})),
    ("post", "/account/password", "Set this account's password (a guest's first) or "
     "change it (old_password needed then)", True,
     obj(["password"], password=STR, old_password=STR), EMPTY),
    ("post", "/guest/challenge", "A proof-of-work challenge for a web chat guest "
     "(403 WEBCHAT_DISABLED when off)", False, EMPTY,
     obj(["challenge", "difficulty", "expires_ms"], challenge=B64, difficulty=INT,
         expires_ms=INT)),
    ("post", "/guest/register", "Create a guest account and device: SHA-256(challenge || "
     "nonce) must start with difficulty zero bits", False,
     obj(["challenge", "nonce"], challenge=B64, nonce=B64, device_name=STR),
     obj(["address", "device_id", "access_token", "role", "guest"], address=ADDRESS,
         device_id=STR, access_token=STR, role={"type": "string", "enum": ["customer"]},
         guest={"type": "boolean"})),
    ("put", "/keys", "Upload identity, signed prekey and one-time prekeys", True,
     obj(device_keys=ANY_OBJ, signed_prekey=ANY_OBJ,
         one_time_prekeys={"type": "array", "items": ANY_OBJ, "maxItems": 200}), COUNT),
    ("get", "/keys/count", "How many one-time prekeys this device has left", True, None,
     COUNT),
    ("get", "/keys/devices/{address}", "An account's devices and their bundles", True, None,
     obj(address=ADDRESS, devices={"type": "array", "items": BUNDLE})),
    ("post", "/keys/claim", "Claim one one-time prekey per device, atomically", True,
     obj(["address"], address=ADDRESS, device_ids={"type": "array", "items": STR}),
     obj(address=ADDRESS, devices={"type": "array", "items": BUNDLE})),
    ("put", "/send/{txn_id}", "Send one message: one envelope per target device", True,
     obj(["to", "envelopes"], to=ADDRESS,
         **{"from": {**ADDRESS, "description": "the sender: this account (default) or, for "
                     "an admin or agent, the business address"},
            "repair": {**STR, "description": "complete this device's earlier message "
                       "for the devices named (after a devices_changed event)"}},
         envelopes={
         "type": "object", "additionalProperties": {
             "type": "object", "additionalProperties": B64}}),
     obj(["message_id", "ts"], message_id=STR, ts=INT)),
    ("get", "/sync", "Events after a position; long-polls up to timeout ms", True, None, SYNC),
    ("post", "/sync/ack", "Acknowledge events up to a position", True,
     obj(["up_to"], up_to=INT, epoch=STR), EMPTY),
    ("get", "/ws", "WebSocket push of events (send {type: ack, up_to})", True, None, SYNC),
    ("post", "/media", "Upload encrypted media (application/octet-stream)", True, None,
     obj(["media_id", "size"], media_id=B64, size=INT)),
    ("get", "/media/{media_id}", "Download encrypted media", True, None,
     {"type": "string", "format": "binary"}),
    ("get", "/openapi.json", "This document", False, None, ANY_OBJ),
]

ROUTES.append(
    ("get", "/directory/{server}/{document}", "A business's signed profile or catalog "
     "(document: profile or catalog) with the key document to verify it", True, None,
     obj(["server_name", "document", "keys"], server_name=STR, document=ANY_OBJ,
         keys=ANY_OBJ)))
ROUTES.append(
    ("get", "/keypins/{server}", "The DNS key pins (_kontor-key TXT) of a server name or an "
     "address's server, looked up by this node for browsers", True, None,
     obj(["server_name", "pins", "published"], server_name=STR,
         pins={"type": "array", "items": STR}, published={"type": "boolean"})))
EPOCH_PARAM = {"type": "string", "description": "the stream epoch the device last saw; "
               "another one than the node's answers the stream from its start at once"}
QUERY: dict[str, list[tuple[str, S | int]]] = {
    "/sync": [("since", 0), ("timeout", 0), ("limit", 100), ("epoch", EPOCH_PARAM)],
    "/ws": [("since", 0), ("epoch", EPOCH_PARAM)],
    "/media/{media_id}": [("server", {"type": "string", "description": "the server the "
                                      "media was uploaded to (default: this one)"})],
}
EPOCHS = {"type": "array", "items": INT}
HISTORY_ITEM = obj(["item_id", "conversation", "ts", "epoch", "sealed"], item_id=STR,
                   conversation=ADDRESS, ts=INT, epoch=INT, sealed=B64)
ROUTES += [
    ("get", "/history", "This device's history owner, current epoch and held keys", True,
     None, obj(["owner", "epoch", "held", "rotate"], owner=ADDRESS, epoch=INT, held=EPOCHS,
               rotate={"type": "boolean"}, may_approve={"type": "boolean"}, approval=STR)),
    ("get", "/history/devices", "The owner's devices and the epochs each holds", True, None,
     obj(["owner", "epoch", "devices"], owner=ADDRESS, epoch=INT,
         devices={"type": "array", "items": ANY_OBJ})),
    ("post", "/history/epochs", "Start the next epoch of the history key", True,
     obj(["epoch"], epoch=INT), obj(["owner", "epoch"], owner=ADDRESS, epoch=INT)),
    ("post", "/history/keys", "Give history keys to a device (approves a new one)", True,
     obj(["device_id", "epochs", "ciphertext"], device_id=STR, epochs=EPOCHS,
         ciphertext=B64), obj(["owner", "device_id", "epochs"], owner=ADDRESS,
                              device_id=STR, epochs=EPOCHS)),
    ("put", "/history/items", "Store sealed history copies (ciphertext only)", True,
     obj(["items"], items={"type": "array", "items": HISTORY_ITEM, "maxItems": 100}),
     obj(["stored", "epoch"], stored=INT, epoch=INT)),
    ("get", "/history/items", "A page of sealed copies, newest first", True, None,
     obj(["owner", "items", "next"], owner=ADDRESS,
         items={"type": "array", "items": HISTORY_ITEM},
         next={"oneOf": [STR, {"type": "null"}]})),
]
QUERY["/history/items"] = [
    ("conversation", {"type": "string", "description": "one conversation (an address)"}),
    ("before", {"type": "string", "description": "the previous page's next"}),
    ("limit", 100)]
ROUTES += BUSINESS_ROUTES
QUERY.update({path: [*params] for path, params in BUSINESS_QUERY.items()})


def _operation(method: str, path: str, summary: str, auth: bool, request: S | None,
               response: S) -> S:
    op: S = {
        "summary": summary,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": response}}},
            "4XX": {"description": "Error", "content": {"application/json": {"schema": ERROR}}},
        },
    }
    params = [{"name": name[1:-1], "in": "path", "required": True, "schema": STR}
              for name in path.split("/") if name.startswith("{")]
    params += [{"name": n, "in": "query", "required": False,
                "schema": d if isinstance(d, dict) else {"type": "integer", "default": d}}
               for n, d in QUERY.get(path, [])]
    if params:
        op["parameters"] = params
    if request is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": request}}}
    if path == "/media" and method == "post":
        op["requestBody"] = {"required": True, "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    op["security"] = [{"bearer": []}] if auth else []
    return op


def document() -> S:
    paths: S = {}
    for method, path, summary, auth, request, response in ROUTES:
        paths.setdefault(PREFIX + path, {})[method] = _operation(
            method, path, summary, auth, request, response)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Kontor client API", "version": __version__,
                 "description": "See docs/protocol.md for the full contract."},
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


_DOCUMENT = document()


@routes.get(PREFIX + "/openapi.json", name="client.openapi")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(_DOCUMENT)
