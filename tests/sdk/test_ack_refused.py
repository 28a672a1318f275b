"""Issue 10, point 6: a device whose acknowledgements are refused (429 with
Retry-After, then a proxy's 503) still hands every stored message to its app exactly
once, across an app restart, and acknowledges on its own once the node accepts again."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from node.client import Client, Message
from tests.nodes import RunningNode
from tests.proxy import ForwardingProxy
from tests.sdk.conftest import PASSPHRASE, PASSWORD, MakeClient


class AckRefusingProxy(ForwardingProxy):
    """A forwarding proxy on loopback that refuses ``/sync/ack`` while ``refusing``."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.refusing = True
        self.refused = 0
        self.passed = 0

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        is_ack = request.path.endswith("/sync/ack")
        if is_ack and self.refusing:
            self.refused += 1
            if self.refused % 2:
                return web.json_response(
                    {"error": {"code": "RATE_LIMITED", "message": "slow down"}},
                    status=429, headers={"Retry-After": "1"})
            return web.Response(status=503, text="<html>503</html>", content_type="text/html")
        answer = await self.relay(request)
        if is_ack and answer.status < 300:
            self.passed += 1
        return answer


async def _drain(client: Client, rounds: int) -> list[Message]:
    """What ``sync_once`` hands over in at most ``rounds`` calls."""
    got: list[Message] = []
    for _ in range(rounds):
        got += [e for e in await client.sync_once() if isinstance(e, Message)]
    return got


async def test_refused_acks_lose_and_repeat_nothing(tmp_path: Path, node: RunningNode,
                                                    make_client: MakeClient) -> None:
    anna = await make_client("anna")
    async with AckRefusingProxy(node.url) as proxy:
        store = tmp_path / "bob-proxied.store"
        bob = await Client.register(proxy.url, "bob", PASSWORD, passphrase=PASSPHRASE,
                                    store=store)
        sent = [(await anna.send_text(bob.address, f"note {i}")).message_id
                for i in range(6)]
        first = await _drain(bob, 3)
        assert proxy.refused >= 1 and proxy.passed == 0, "the acks were refused"
        await bob.close()

        bob = await Client.open(store, PASSPHRASE)  # the app restarts, acks still refused
        later = [(await anna.send_text(bob.address, f"later {i}")).message_id
                 for i in range(2)]
        second = await _drain(bob, 3)
        handed = [m.message_id for m in first + second]
        assert handed == sent + later, "each message handed over once, in order"

        proxy.refusing = False
        assert await _drain(bob, 1) == []
        assert proxy.passed >= 1, "the stored position was acknowledged on its own"
        await bob.close()
        bob = await Client.open(store, PASSPHRASE)
        assert await _drain(bob, 2) == [], "nothing comes back after the ack went through"
        await bob.close()
