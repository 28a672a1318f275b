"""Client API of the team's administration (``/business/team``, ``/business/invites``):
the admins and agents with their devices, removing an account, revoking a device, and
one-time invites. Admins only; ``node.services.team_admin`` decides."""

from __future__ import annotations

import re

from aiohttp import web

from node.api.auth import requester
from node.api.parsing import field, read_json_object
from node.appkeys import CONFIG, DB, NOTIFIER
from node.errors import InvalidParameter
from node.services import team_admin
from node.services.business.validate import no_unknown
from node.services.team_admin import TeamAdmin

PREFIX = "/_kontor/client/v1/business"
routes = web.RouteTableDef()


def _admin(request: web.Request) -> TeamAdmin:
    return TeamAdmin(request.app[DB], request.app[CONFIG], request.app[NOTIFIER])


def _path(request: web.Request, name: str, pattern: str) -> str:
    value = request.match_info[name]
    if not re.fullmatch(pattern, value):
        raise InvalidParameter(f"{name} in the path is malformed")
    return value


@routes.get(PREFIX + "/team", name="client.business.team")
async def list_team(request: web.Request) -> web.Response:
    who = await requester(request)
    return web.json_response(await team_admin.team(_admin(request), who))


@routes.delete(PREFIX + "/team/{address}", name="client.business.team.remove")
async def remove_member(request: web.Request) -> web.Response:
    who = await requester(request)
    address = _path(request, "address", r"[^/]{1,320}")
    return web.json_response(await team_admin.remove_member(_admin(request), who, address))


@routes.delete(PREFIX + "/team/{address}/devices/{device_id}",
               name="client.business.team.devices.revoke")
async def revoke_device(request: web.Request) -> web.Response:
    who = await requester(request)
    address = _path(request, "address", r"[^/]{1,320}")
    device_id = _path(request, "device_id", r"[A-Za-z0-9_-]{1,64}")
    return web.json_response(await team_admin.revoke_member_device(_admin(request), who,
                                                                   address, device_id))


@routes.get(PREFIX + "/invites", name="client.business.invites")
async def list_invites(request: web.Request) -> web.Response:
    who = await requester(request)
    return web.json_response(await team_admin.invites(_admin(request), who))


@routes.post(PREFIX + "/invites", name="client.business.invites.create")
async def create_invite(request: web.Request) -> web.Response:
    who = await requester(request)
    body = await read_json_object(request, 4096)
    no_unknown(body, {"role", "days"}, "an invite")
    role = field(body, "role", str, required=False, default="agent", max_len=16)
    days = field(body, "days", int, required=False, default=7)
    return web.json_response(await team_admin.create_invite(_admin(request), who, role, days))


@routes.delete(PREFIX + "/invites/{invite_id}", name="client.business.invites.revoke")
async def revoke_invite(request: web.Request) -> web.Response:
    who = await requester(request)
    invite_id = _path(request, "invite_id", r"[0-9a-f]{16}")
    return web.json_response(await team_admin.revoke_invite(_admin(request), who, invite_id))
