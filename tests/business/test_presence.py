"""'Ben is also viewing this conversation': a team device's announcement reaches the
team's other live WebSockets at once, a socket that opens hears what is shown now, a
closed tab ends its announcement for the others; customers neither hear nor announce,
and nothing is kept for a device without a socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from node.appkeys import DB, PRESENCE
from node.storage import accounts as store
from tests.api.helpers import PREFIX, call
from tests.business.helpers import B, customer, team_member
from tests.nodes import RunningNode, eventually


@asynccontextmanager
async def socket(http: aiohttp.ClientSession, node: RunningNode,
                 who: dict[str, Any], team: bool = True
                 ) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """The device's one WebSocket, once the node has attached it to the team's (a
    customer's is never attached)."""
    devices = await node.app[DB].read(store.list_devices, who["address"])
    pk = next(d["pk"] for d in devices if d["device_id"] == who["device_id"])
    presence = node.app[PRESENCE]

    async def attached(count: int) -> bool:
        return presence.live(pk) == count

    await eventually(lambda: attached(0), what="the device's earlier socket detached")
    url = node.url.replace("http", "ws") + PREFIX + "/ws"
    protocols = ("kontor.v1", "kontor-bearer." + who["access_token"])
    async with http.ws_connect(url, protocols=protocols) as ws:
        await eventually(lambda: attached(1 if team else 0), what="the socket attached")
        yield ws


async def next_viewing(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next `viewing` frame (event batches are passed over), within 10 s."""
    for _ in range(50):
        frame = await ws.receive_json(timeout=10)
        if frame["type"] == "viewing":
            return frame
    raise AssertionError("no viewing frame among 50 frames")


async def announce(http: aiohttp.ClientSession, node: RunningNode, who: dict[str, Any],
                   conversation: str, viewing: Any) -> tuple[int, Any]:
    return await call(http, node.url, "POST", f"{B}/conversations/{conversation}/viewing",
                      who["access_token"], {"viewing": viewing})


async def test_the_team_hears_who_views_a_conversation(node: RunningNode,
                                                       http: aiohttp.ClientSession) -> None:
    anna = await team_member(node, http, "anna")
    ben = await team_member(node, http, "ben")
    boss = await team_member(node, http, "boss", "admin")
    carl = await customer(node, http, "carl")
    async with socket(http, node, ben) as ben_ws, socket(http, node, carl, team=False):
        async with socket(http, node, anna) as anna_ws:
            status, said = await announce(http, node, anna, carl["address"], True)
            assert status == 200, said
            assert (said["conversation"], said["viewing"]) == (carl["address"], True)
            assert said["sockets"] == 1, "Ben's socket only: not Anna's own, not Carl's"
            frame = await next_viewing(ben_ws)
            assert (frame["account"], frame["device_id"], frame["conversation"],
                    frame["viewing"]) == (anna["address"], anna["device_id"],
                                          carl["address"], True)
            assert frame["expires_ms"] == said["expires_ms"]

            # A socket that opens later hears what is shown now.
            async with socket(http, node, boss) as boss_ws:
                frame = await next_viewing(boss_ws)
                assert (frame["account"], frame["viewing"]) == (anna["address"], True)

            # Ben opens it too: Anna hears him.
            status, _ = await announce(http, node, ben, carl["address"], True)
            frame = await next_viewing(anna_ws)
            assert (frame["account"], frame["viewing"]) == (ben["address"], True)
        # Anna's tab closed: Ben hears that she left.
        frame = await next_viewing(ben_ws)
        assert (frame["account"], frame["conversation"], frame["viewing"]) == (
            anna["address"], carl["address"], False)

        # Ben leaves the conversation himself.
        status, said = await announce(http, node, ben, carl["address"], False)
        assert (status, said["viewing"], said["expires_ms"]) == (200, False, None)

    # Nothing is kept for a device without a socket (nobody could end it).
    status, said = await announce(http, node, anna, carl["address"], True)
    assert (status, said["sockets"]) == (200, 0)
    async with socket(http, node, ben) as ben_ws:
        status, said = await announce(http, node, boss, carl["address"], True)
        frame = await next_viewing(ben_ws)
        assert frame["account"] == boss["address"], "no stale frame of Anna came first"


async def test_only_the_team_announces_and_bad_input_is_refused(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    anna = await team_member(node, http, "anna")
    carl = await customer(node, http, "carl")
    status, err = await announce(http, node, carl, anna["address"], True)
    assert (status, err["error"]["code"]) == (403, "FORBIDDEN_ROLE")
    for conversation, body, code in (
            (carl["address"], {"viewing": "yes"}, "INVALID_PARAMETER"),
            (carl["address"], {}, "MISSING_FIELD"),
            (carl["address"], {"viewing": True, "who": "x"}, "UNKNOWN_FIELD"),
            ("not-an-address", {"viewing": True}, "INVALID_ADDRESS")):
        status, err = await call(http, node.url, "POST",
                                 f"{B}/conversations/{conversation}/viewing",
                                 anna["access_token"], body)
        assert (status, err["error"]["code"]) == (400, code), (conversation, body)
